/**
 * The trace exporters OTEL_TRACES_EXPORTER lists, as the SDK reads it: `otlp` when
 * unset or empty; "none" first turns traces off whatever follows ("otlp,none" is otlp).
 * Its own entry point (`@shopmesh/telemetry/exporters`), so that a tool can read it
 * without loading the SDK.
 */
export function traceExporters(env: Readonly<Record<string, string | undefined>>): string[] {
  const listed = (env.OTEL_TRACES_EXPORTER ?? "").split(",").map((name) => name.trim());
  return listed.some(Boolean) ? listed.filter(Boolean) : ["otlp"];
}

/** Traces off: "none" first in OTEL_TRACES_EXPORTER. */
export function tracesOff(env: Readonly<Record<string, string | undefined>>): boolean {
  return traceExporters(env)[0] === "none";
}
