import { spawnSync } from "node:child_process";
import { freePort } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";

// OTEL_SDK_DISABLED=true means no traces and no metrics at all: had the register file
// built the NodeSDK, its constructor would serve :9464/metrics (answering 200 with an
// error comment), and Prometheus would count a target up that exports nothing.
describe("OTEL_SDK_DISABLED=true", () => {
  it("serves no metrics endpoint", async () => {
    const port = await freePort();
    const script = `
      const r = await fetch("http://127.0.0.1:${port}/metrics").then(
        async (res) => res.status + " " + JSON.stringify(await res.text()),
        (error) => "refused: " + error.cause?.code,
      );
      console.log(r);
    `;
    const run = spawnSync(
      process.execPath,
      ["--import", "@shopmesh/telemetry/register", "--input-type=module", "-e", script],
      {
        encoding: "utf8",
        env: { ...process.env, OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_PROMETHEUS_PORT: String(port) },
        timeout: 20_000,
      },
    );
    expect(run.stdout.trim()).toBe("refused: ECONNREFUSED");
  });
});
