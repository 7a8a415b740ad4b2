/**
 * deploy/observability/metrics.txt: the metric families the services export and the
 * labels of their series. What the dashboards and alerts may query
 * (tools/check-observability.mjs), and what the e2e telemetry test holds to real scrapes.
 *
 * A line is `<name> <type> [optional] [{label,…}]`; a label ending in `?` appears on
 * some series of the family only (see the file's header).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "./run.mjs";

export const metricsListPath = join(root, "deploy/observability/metrics.txt");

/** Labels the OpenTelemetry exporter puts on every series (the version on some scopes only). */
export const exporterLabels = ["otel_scope_name", "otel_scope_version"];

/** Labels Prometheus gives every series it scrapes, before any relabelling. */
export const targetLabels = ["job", "instance"];

/** Series Prometheus records for each target itself. */
const targetSeries = ["up", "scrape_duration_seconds", "scrape_samples_scraped"];

/** The series a family of each type exports: suffix, and the label it adds. */
const seriesOfType = {
  counter: [["", []]],
  gauge: [["", []]],
  histogram: [
    ["_bucket", ["le"]],
    ["_sum", []],
    ["_count", []],
  ],
  summary: [
    ["", ["quantile"]],
    ["_sum", []],
    ["_count", []],
  ],
};

/** The families of metrics.txt by name. */
export function readMetricsList(path = metricsListPath) {
  const families = new Map();
  for (const [index, raw] of readFileSync(path, "utf8").split("\n").entries()) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    const match = /^(\S+)\s+(counter|gauge|histogram|summary)(\s+optional)?(?:\s+\{([^}]*)\})?$/.exec(line);
    if (!match) throw new Error(`${path}:${index + 1}: not "<name> <type> [optional] [{label,…}]": ${raw}`);
    const [, name, type, optional, list = ""] = match;
    const listed = list
      .split(",")
      .map((label) => label.trim())
      .filter(Boolean);
    families.set(name, {
      name,
      type,
      optional: optional !== undefined,
      labels: listed.map((label) => label.replace(/\?$/, "")),
      always: listed.filter((label) => !label.endsWith("?")),
    });
  }
  return families;
}

/**
 * The family a series belongs to (`rpc_server_duration` for `rpc_server_duration_bucket`)
 * and the label names a series of that name can have: its family's, the one its suffix
 * adds (`le`), the exporter's and `target` (those Prometheus adds; none in a raw scrape).
 * Undefined for a series no family exports.
 */
export function seriesOf(families, series, target = targetLabels) {
  if (targetSeries.includes(series)) return { family: undefined, labels: new Set(target) };
  for (const family of families.values()) {
    for (const [suffix, added] of seriesOfType[family.type]) {
      if (series === family.name + suffix) {
        return { family, labels: new Set([...family.labels, ...added, ...exporterLabels, ...target]) };
      }
    }
  }
  return undefined;
}
