#!/usr/bin/env node
/**
 * Checks deploy/observability without a network or a running Prometheus/Grafana:
 *
 * 1. every YAML and JSON file there parses;
 * 2. every metric the alerts and dashboards query is one the services export, as
 *    listed in deploy/observability/metrics.txt (which the e2e telemetry test holds
 *    to real scrapes), or one of the NATS exporter's in metrics-nats.txt — a renamed
 *    metric cannot leave a dashboard silently empty —
 *    and every label they select by (`{label="…"}`), group by (`by`, `without`) or match
 *    on (`on`, `ignoring`, `group_left/right`) is one those metrics' series have there:
 *    a mistyped or misplaced label selects nothing and raises no error either;
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
import { readMetricsList, seriesOf, targetLabels } from "./metrics-list.mjs";
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

// 2. The exported metric families and their labels (metrics.txt; metrics-nats.txt, those
// of the NATS exporter), with the labels every scrape configuration gives a target (job,
// instance, and what relabelling adds).
const families = new Map([
  ...readMetricsList(join(dir, "metrics.txt")),
  ...readMetricsList(join(dir, "metrics-nats.txt")),
]);
const scrapedTargetLabels = new Set(targetLabels);
for (const [file, config] of documents) {
  if (!/prometheus[^/]*\.ya?ml$/.test(file)) continue;
  for (const job of config?.scrape_configs ?? [])
    for (const rule of job.relabel_configs ?? []) if (rule.target_label) scrapedTargetLabels.add(rule.target_label);
}
const labelsOf = (series) => seriesOf(families, series, [...scrapedTargetLabels])?.labels;
const checkQuery = (file, where, expr) => {
  for (const name of metricNames(expr))
    if (!labelsOf(name)) problem(file, `${where} queries ${name}, which is not in metrics.txt`);
  for (const message of labelProblems(expr, labelsOf)) problem(file, `${where} ${message}`);
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
    if (variable.type !== "query" || !query) continue;
    // label_values(selector, label) lists what grouping the selector by that label would.
    const { selector, label } = labelValuesQuery(query);
    checkQuery(file, `variable ${variable.name}`, label ? `group by (${label}) (${selector})` : selector);
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

/** The series selector and label of a Grafana `label_values(selector, label)` query, or the query. */
function labelValuesQuery(query) {
  const match = /^\s*label_values\(\s*(.*?)\s*,\s*(\w+)\s*\)\s*$/.exec(query);
  return match ? { selector: match[1], label: match[2] } : { selector: query };
}

/**
 * What is wrong with the labels an expression uses, given the label names a series
 * can have (`labelsOf`, undefined for an unknown series, reported elsewhere):
 * - a selector's matchers (`shopmesh_db_pool_waiting{state="waiting"}`) must be labels
 *   of the series it names;
 * - a `by`/`without` clause's labels must be labels of some series the aggregation
 *   reads (its argument), or made there by label_replace/label_join;
 * - `on`/`ignoring`/`group_left`/`group_right` labels must be those of some series
 *   of the expression.
 * Lenient where an inner aggregation already dropped a label: its argument's labels count.
 */
function labelProblems(expr, labelsOf) {
  // String literals blanked (same length), so that their contents read as no syntax.
  const code = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, (literal) => `"${" ".repeat(literal.length - 2)}"`);
  const problems = [];
  for (const { 0: selector, 1: series, 2: matchers, index } of code.matchAll(/([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}/g)) {
    if (/^(?:by|without|on|ignoring|group_left|group_right)$/.test(series)) continue;
    const known = labelsOf(series);
    if (!known) continue;
    for (const [, label] of matchers.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) {
      if (label !== "__name__" && !known.has(label))
        problems.push(
          `selects ${series} by label ${label}, which its series do not have: ${expr.slice(index, index + selector.length)}`,
        );
    }
  }
  for (const clause of code.matchAll(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)) {
    const [text, keyword, list] = clause;
    const [from, to] = ["by", "without"].includes(keyword)
      ? aggregated(code, clause.index, clause.index + text.length)
      : [0, code.length];
    const scope = code.slice(from, to);
    const available = new Set(madeLabels(expr, from, to));
    for (const series of metricNames(scope)) for (const label of labelsOf(series) ?? []) available.add(label);
    if (metricNames(scope).every((series) => !labelsOf(series))) continue;
    for (const label of list.split(",").map((name) => name.trim())) {
      if (label && !label.startsWith("$") && !available.has(label))
        problems.push(`groups ${keyword} (${label}), a label no series it reads has: ${text}`);
    }
  }
  return problems;
}

/**
 * Where the argument of the aggregation whose `by`/`without` clause spans [start, end)
 * is, [from, to): `sum by (x) (arg)` or `sum (arg) by (x)`. The whole expression where
 * neither is found.
 */
function aggregated(code, start, end) {
  const after = code.slice(end).search(/\S/);
  if (after !== -1 && code[end + after] === "(") return [end + after, matching(code, end + after) + 1];
  const before = code.slice(0, start).trimEnd();
  if (before.endsWith(")")) return [matchingBackwards(code, before.length - 1), before.length];
  return [0, code.length];
}

/** The index of the parenthesis closing the one at `open`. */
function matching(code, open) {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === "(") depth++;
    else if (code[i] === ")" && --depth === 0) return i;
  }
  return code.length - 1;
}

/** The index of the parenthesis opening the one at `close`. */
function matchingBackwards(code, close) {
  let depth = 0;
  for (let i = close; i >= 0; i--) {
    if (code[i] === ")") depth++;
    else if (code[i] === "(" && --depth === 0) return i;
  }
  return 0;
}

/** Labels label_replace/label_join calls within [from, to) of `expr` create: their second argument. */
function madeLabels(expr, from, to) {
  const made = [];
  for (const call of expr.slice(from, to).matchAll(/\blabel_(?:replace|join)\s*\(/g)) {
    // The first comma outside brackets and strings ends the vector argument.
    let depth = 0;
    let quote;
    for (let i = from + call.index + call[0].length; i < to; i++) {
      const char = expr[i];
      if (quote) {
        if (char === "\\") i++;
        else if (char === quote) quote = undefined;
      } else if (char === '"' || char === "'") quote = char;
      else if ("([{".includes(char)) depth++;
      else if (")]}".includes(char)) depth--;
      else if (char === "," && depth === 0) {
        const literal = /^\s*["']((?:[^"'\\]|\\.)*)["']/.exec(expr.slice(i + 1, to));
        if (literal) made.push(literal[1]);
        break;
      }
    }
  }
  return made;
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
