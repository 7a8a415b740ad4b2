import { spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { freePort } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";

/**
 * Runs `script` in a process started as the services are, the register file imported
 * first (from its sources: the tests run before anything is built).
 */
function withTelemetry(env: Record<string, string>, script: string) {
  const register = ["--conditions=@shopmesh/source", "--import", "tsx", "--import", "@shopmesh/telemetry/register"];
  return spawnSync(process.execPath, [...register, "--input-type=module", "-e", script], {
    encoding: "utf8",
    env: { ...process.env, OTEL_TRACES_EXPORTER: "none", ...env },
    timeout: 20_000,
  });
}

// OTEL_SDK_DISABLED=true means no traces and no metrics at all: had the register file
// built the NodeSDK, its constructor would serve :9464/metrics (answering 200 with an
// error comment), and Prometheus would count a target up that exports nothing.
describe("OTEL_SDK_DISABLED=true", () => {
  it("serves no metrics endpoint", async () => {
    const port = await freePort();
    const run = withTelemetry(
      { OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_PROMETHEUS_PORT: String(port) },
      `console.log(await fetch("http://127.0.0.1:${port}/metrics").then(
        async (res) => res.status + " " + JSON.stringify(await res.text()),
        (error) => "refused: " + error.cause?.code,
      ));`,
    );
    expect(run.stdout.trim()).toBe("refused: ECONNREFUSED");
  });
});

// A service without /metrics is reported down by Prometheus (ShopmeshServiceDown), and
// the runbook says to read its last log lines: they must say why.
describe("telemetry settings that leave a service without metrics", () => {
  it("are reported on stderr: a misspelt exporter", () => {
    const run = withTelemetry({ OTEL_METRICS_EXPORTER: "promethus" }, "setTimeout(() => {}, 200);");
    expect(run.stderr).toContain('Unsupported OTEL_METRICS_EXPORTER value: "promethus"');
  });

  it("are reported on stderr: a metrics port already taken", async () => {
    const taken = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => taken.listen(port, "0.0.0.0", resolve));
    try {
      const run = withTelemetry({ OTEL_EXPORTER_PROMETHEUS_PORT: String(port) }, "setTimeout(() => {}, 1000);");
      expect(run.stderr).toContain("EADDRINUSE");
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
