import { type Attributes, metrics } from "@opentelemetry/api";
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
} from "@opentelemetry/sdk-metrics";

/** The measurements of the services running in this process, as collected at one moment. */
export interface MetricSnapshot {
  /** The total of a counter (or sum) over its series whose attributes include `attributes`. */
  total(name: string, attributes?: Attributes): number;
  /** How many series of an instrument have attributes that include `attributes` (0: none exported yet). */
  series(name: string, attributes?: Attributes): number;
  /** The number of measurements of a histogram over its series whose attributes include `attributes`. */
  count(name: string, attributes?: Attributes): number;
  /** The sum of a histogram's measurements over its series whose attributes include `attributes`. */
  sum(name: string, attributes?: Attributes): number;
}

/** Collects what the code running in this process measured, cumulatively since the reader was installed. */
export interface InProcessMetrics {
  collect(): Promise<MetricSnapshot>;
}

/**
 * Installs a global MeterProvider for services (or their modules) running in a test's
 * process, which otherwise measure nothing: only the process entry point starts the
 * OpenTelemetry SDK. Call it before any service module is imported — they create
 * their instruments when they load, and an instrument created before a provider is
 * installed stays a no-op — so a test imports them dynamically afterwards.
 */
export function installMetricReader(): InProcessMetrics {
  const reader = new CollectingReader();
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  return {
    async collect() {
      const { resourceMetrics } = await reader.collect();
      const all = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
      const points = (name: string, attributes: Attributes) =>
        (all.find((metric) => metric.descriptor.name === name)?.dataPoints ?? []).filter((point: DataPoint<unknown>) =>
          Object.entries(attributes).every(([key, value]) => point.attributes[key] === value),
        );
      return {
        total: (name, attributes = {}) => points(name, attributes).reduce((sum, point) => sum + Number(point.value), 0),
        series: (name, attributes = {}) => points(name, attributes).length,
        count: (name, attributes = {}) =>
          points(name, attributes).reduce((sum, point) => sum + (point.value as Histogram).count, 0),
        sum: (name, attributes = {}) =>
          points(name, attributes).reduce((sum, point) => sum + ((point.value as Histogram).sum ?? 0), 0),
      };
    },
  };
}

/** A reader the test pulls from, with cumulative sums so snapshots can be subtracted. */
class CollectingReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}
