import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

// What tools/check-observability.mjs and the Prometheus e2e test do not look at: a
// panel's unit against what each of its queries measures, and the alerts
// docs/tracing.md lists against those alerts.yml defines.
const root = join(new URL("../../", import.meta.url).pathname);
const read = (path: string) => readFileSync(join(root, path), "utf8");

interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
}
interface PanelJson {
  id: number;
  title: string;
  panels?: PanelJson[];
  targets?: Target[];
  fieldConfig?: {
    defaults?: { unit?: string };
    overrides?: { matcher: { id: string; options: string }; properties: { id: string; value: unknown }[] }[];
  };
}

function panels(file: string): PanelJson[] {
  const found: PanelJson[] = [];
  const visit = (panel: PanelJson) => {
    found.push(panel);
    for (const child of panel.panels ?? []) visit(child);
  };
  for (const panel of (JSON.parse(read(file)) as { panels: PanelJson[] }).panels) visit(panel);
  return found;
}

/** The unit a query's series are drawn with: an override for its refId, else the panel's. */
function unitOf(panel: PanelJson, refId: string): string | undefined {
  const override = panel.fieldConfig?.overrides?.find(
    ({ matcher }) => matcher.id === "byFrameRefID" && matcher.options === refId,
  );
  const unit = override?.properties.find((property) => property.id === "unit")?.value;
  return (unit as string | undefined) ?? panel.fieldConfig?.defaults?.unit;
}

describe("mesh overview dashboard units", () => {
  it("draws a per-second rate of calls with a rate unit, not with the latency's ms", () => {
    const mixed: string[] = [];
    for (const panel of panels("deploy/observability/grafana/dashboards/mesh-overview.json")) {
      for (const target of panel.targets ?? []) {
        const isRate =
          /^\s*sum by \([^)]*\) \(rate\([a-z_]+_count\{/.test(target.expr) && !/histogram_quantile/.test(target.expr);
        if (isRate && unitOf(panel, target.refId) === "ms") {
          mixed.push(`${panel.title} / ${target.refId} "${target.legendFormat}": ${target.expr}`);
        }
      }
    }
    expect(mixed).toEqual([]);
  });
});

describe("docs/tracing.md's alert table", () => {
  it("lists every alert alerts.yml defines", () => {
    const rules = parse(read("deploy/observability/prometheus/alerts.yml")) as {
      groups: { rules: { alert?: string }[] }[];
    };
    const defined = rules.groups.flatMap((group) => group.rules.flatMap((rule) => (rule.alert ? [rule.alert] : [])));
    const documented = [...read("docs/tracing.md").matchAll(/^\| `(Shopmesh\w+)`/gm)].map((match) => match[1]);
    expect(defined.filter((alert) => !documented.includes(alert))).toEqual([]);
  });
});

describe("docs/tracing.md's references to dashboard panels", () => {
  it("names only panels the shipped dashboards have", () => {
    const titles = ["mesh-overview.json", "runtime.json"].flatMap((file) =>
      panels(`deploy/observability/grafana/dashboards/${file}`).map((panel) => panel.title),
    );
    const doc = read("docs/tracing.md");
    // Backticked capitalised phrases the runbooks send an operator to: `Oldest unpublished outbox row`, `DB pool` …
    const named = [
      ...new Set([...doc.matchAll(/`([A-Z][A-Za-z0-9 ]* [A-Za-z0-9 ]*)`/g)].map((match) => match[1] ?? "")),
    ];
    expect(named.length).toBeGreaterThan(1);
    expect(named.filter((name) => !titles.some((title) => title.startsWith(name)))).toEqual([]);
  });
});
