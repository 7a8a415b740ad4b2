/** A metric family of deploy/observability/metrics.txt. */
export interface MetricFamily {
  readonly name: string;
  readonly type: "counter" | "gauge" | "histogram" | "summary";
  /** Exported only once something happened. */
  readonly optional: boolean;
  /** The labels its series may have (beside the exporter's and Prometheus's). */
  readonly labels: readonly string[];
  /** Those every series has. */
  readonly always: readonly string[];
}

export declare const metricsListPath: string;
export declare const exporterLabels: readonly string[];
export declare const targetLabels: readonly string[];
export declare function readMetricsList(path?: string): Map<string, MetricFamily>;
export declare function seriesOf(
  families: ReadonlyMap<string, MetricFamily>,
  series: string,
  target?: readonly string[],
): { family: MetricFamily | undefined; labels: Set<string> } | undefined;
