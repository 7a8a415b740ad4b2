#!/usr/bin/env node
/**
 * Checks deploy/observability without a network or a running Prometheus/Grafana:
 *
 * 1. every YAML and JSON file there parses;
 * 2. every metric the alerts and dashboards query is one the services export, as
 *    listed in deploy/observability/metrics.txt (which the e2e telemetry test holds
 *    to real scrapes) — a renamed metric cannot leave a dashboard silently empty;
 * 3. the shape Prometheus and Grafana need: scrape jobs order/inventory/payment and
 *    their rule files; each alert with expr, for, a severity and summary/description;
 *    dashboards with stable unique uids, schemaVersion ≥ 39, unique panel ids, the
 *    provisioned datasource uids;
 * 4. `promtool check config`, `promtool check rules` and the alerts' unit tests
 *    (`promtool test rules prometheus/alerts.test.yml`), with the promtool of
 *    tools/prometheus.mjs (fetched from Debian's packages where it is missing); skipped,
 *    saying so, only where no promtool can be had. Debian's build has no Kubernetes
 *    service discovery, so prometheus-kubernetes.yml gets the checks of 1–3 only.
 *
 * Usage: node tools/check-observability.mjs
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { parse as parseYaml } from "yaml";
import { prometheusBinary } from "./prometheus.mjs";
import { root } from "./run.mjs";

const dir = join(root, "deploy/observability");
const problems = [];
const problem = (file, message) => problems.push(`${relative(root, file)}: ${message}`);

// 1. Parse everything.
const documents = new Map();
for (const file of walk(dir)) {
  try {
    if (/\.ya?ml$/.test(file)) documents.set(file, parseYaml(readFileSync(file, "utf8"), { prettyErrors: true }));
    else if (file.endsWith(".json")) documents.set(file, JSON.parse(readFileSync(file, "utf8")));
  } catch (error) {
    problem(file, `does not parse: ${error.message}`);
  }
}

// 2. The exported metric families: `<name> <type> [optional]` per line.
const families = new Map();
for (const line of readFileSync(join(dir, "metrics.txt"), "utf8").split("\n")) {
  const [name, type] = line.replace(/#.*/, "").trim().split(/\s+/);
  if (name) families.set(name, type);
}
const queryable = new Set(["up", "scrape_duration_seconds", "scrape_samples_scraped"]);
for (const [name, type] of families) {
  const suffixes =
    type === "histogram" ? ["_bucket", "_sum", "_count"] : type === "summary" ? ["", "_sum", "_count"] : [""];
  for (const suffix of suffixes) queryable.add(name + suffix);
}
const checkQuery = (file, where, expr) => {
  for (const name of metricNames(expr))
    if (!queryable.has(name)) problem(file, `${where} queries ${name}, which is not in metrics.txt`);
};

// 3. Prometheus configuration and rules.
const ruleFiles = new Set();
for (const [file, config] of documents) {
  if (!/prometheus[^/]*\.ya?ml$/.test(file)) continue;
  for (const rules of config?.rule_files ?? []) {
    ruleFiles.add(join(dir, "prometheus", rules));
    if (!documents.has(join(dir, "prometheus", rules))) problem(file, `rule file ${rules} missing`);
  }
  if (!config?.rule_files?.length) problem(file, "no rule_files");
  const jobs = (config?.scrape_configs ?? []).map((job) => job.job_name);
  const relabelled = (config?.scrape_configs ?? []).some((job) =>
    job.relabel_configs?.some((rule) => rule.target_label === "job"),
  );
  for (const job of ["order", "inventory", "payment"])
    if (!jobs.includes(job) && !relabelled) problem(file, `no scrape job "${job}" (nor one that sets job)`);
}
const alertNames = new Set();
for (const file of ruleFiles) {
  for (const group of documents.get(file)?.groups ?? []) {
    for (const rule of group.rules ?? []) {
      const name = rule.alert ?? rule.record;
      if (!name) problem(file, `a rule in group ${group.name} has no alert name`);
      if (rule.alert && alertNames.has(rule.alert)) problem(file, `alert ${rule.alert} defined twice`);
      alertNames.add(rule.alert);
      if (typeof rule.expr !== "string" || !rule.expr.trim()) problem(file, `${name}: no expr`);
      else checkQuery(file, name, rule.expr);
      if (!rule.alert) continue;
      if (rule.for === undefined) problem(file, `${name}: no "for"`);
      if (!["critical", "warning", "info"].includes(rule.labels?.severity))
        problem(file, `${name}: labels.severity must be critical, warning or info`);
      for (const annotation of ["summary", "description"])
        if (!rule.annotations?.[annotation]) problem(file, `${name}: no annotations.${annotation}`);
    }
  }
}
if (alertNames.size === 0) problem(dir, "no alert rules found");

// 3. Grafana provisioning and dashboards.
const datasourceUids = new Set();
for (const [file, config] of documents)
  if (file.includes("/provisioning/datasources/"))
    for (const source of config?.datasources ?? []) datasourceUids.add(source.uid);
for (const uid of ["prometheus", "jaeger"])
  if (!datasourceUids.has(uid)) problem(join(dir, "grafana/provisioning/datasources"), `no datasource with uid ${uid}`);
const dashboardUids = new Set();
for (const [file, dashboard] of documents) {
  if (!file.includes("/grafana/dashboards/")) continue;
  if (!dashboard.uid || !dashboard.title) problem(file, "needs a uid and a title");
  if (dashboardUids.has(dashboard.uid)) problem(file, `uid ${dashboard.uid} used twice`);
  dashboardUids.add(dashboard.uid);
  if (dashboard.id !== null && dashboard.id !== undefined) problem(file, "id must be null (Grafana assigns it)");
  if (!(dashboard.schemaVersion >= 39)) problem(file, "schemaVersion must be 39 or later");
  for (const variable of dashboard.templating?.list ?? []) {
    const query = typeof variable.query === "string" ? variable.query : variable.query?.query;
    if (variable.type === "query" && query) checkQuery(file, `variable ${variable.name}`, labelValuesQuery(query));
  }
  const ids = new Set();
  const panels = (dashboard.panels ?? []).flatMap((panel) => [panel, ...(panel.panels ?? [])]);
  if (panels.length === 0) problem(file, "no panels");
  for (const panel of panels) {
    if (ids.has(panel.id)) problem(file, `panel id ${panel.id} used twice`);
    ids.add(panel.id);
    if (panel.type === "row") continue;
    if (!panel.targets?.length) problem(file, `panel "${panel.title}" has no queries`);
    for (const target of panel.targets ?? []) {
      const uid = target.datasource?.uid ?? panel.datasource?.uid;
      if (!datasourceUids.has(uid)) problem(file, `panel "${panel.title}" uses datasource ${uid}, not provisioned`);
      if (target.expr) checkQuery(file, `panel "${panel.title}"`, target.expr);
    }
  }
}
if (dashboardUids.size === 0) problem(dir, "no dashboards found");

// 4. promtool, where it can be had.
const promtoolPath = prometheusBinary("promtool");
if (promtoolPath) {
  for (const args of [
    ["check", "config", "--syntax-only", join(dir, "prometheus/prometheus.yml")],
    ["check", "rules", ...ruleFiles],
    ["test", "rules", ...[...documents.keys()].filter((file) => file.endsWith(".test.yml"))],
  ]) {
    const result = spawnSync(promtoolPath, args, { encoding: "utf8" });
    if (result.status !== 0) problem(dir, `promtool ${args.join(" ")}:\n${result.stdout}${result.stderr}`);
  }
}

if (problems.length > 0) {
  for (const message of problems) console.error(`check-observability: ${message}`);
  process.exit(1);
}
console.log(
  `check-observability: OK (${documents.size} files, ${alertNames.size} alerts, ${dashboardUids.size} dashboards` +
    `${promtoolPath ? ", promtool" : "; promtool unavailable, its checks skipped"})`,
);

/** Every file under a directory. */
function walk(path) {
  return readdirSync(path).flatMap((name) => {
    const child = join(path, name);
    return statSync(child).isDirectory() ? walk(child) : [child];
  });
}

/** The series selector of a Grafana `label_values(selector, label)` query, or the query. */
function labelValuesQuery(query) {
  const match = /^\s*label_values\(\s*(.*?)\s*,\s*\w+\s*\)\s*$/.exec(query);
  return match ? match[1] : query;
}

/**
 * The metric names a PromQL expression selects: the identifiers left once strings,
 * label matchers, ranges, grouping labels, Grafana variables, numbers, keywords and
 * function calls are taken out.
 */
function metricNames(expr) {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, "")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\$\{?\w+\}?/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\boffset\s+-?\w+/g, " ")
    .replace(/(?<![\w.])\d+(?:\.\d+)?(?:e[+-]?\d+)?/gi, " ");
  const keywords = new Set(["and", "or", "unless", "bool", "inf", "nan", "atan2", "group_left", "group_right"]);
  return [...stripped.matchAll(/[a-zA-Z_:][\w:]*(?![\w:]|\s*\()/g)]
    .map(([name]) => name)
    .filter((name) => !keywords.has(name.toLowerCase()));
}
