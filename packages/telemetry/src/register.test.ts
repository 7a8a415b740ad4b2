import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { freePort, waitFor } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";

/**
 * Runs `script` in a process started as the services are, the register file imported
 * first (from its sources: the tests run before anything is built).
 */
function withTelemetry(env: Record<string, string>, script: string) {
  return spawnSync(process.execPath, [...register, "--input-type=module", "-e", script], {
    encoding: "utf8",
    env: telemetryEnv(env),
    timeout: 20_000,
  });
}

const register = ["--conditions=@shopmesh/source", "--import", "tsx", "--import", "@shopmesh/telemetry/register"];
const telemetryEnv = (env: Record<string, string>) => ({
  ...process.env,
  OTEL_TRACES_EXPORTER: "none",
  OTEL_EXPORTER_OTLP_ENDPOINT: "",
  ...env,
});

/**
 * Fails unless an idle process started with telemetry writes `text` to stderr within
 * 20 s; ends the process then.
 */
async function expectOnStderr(env: Record<string, string>, text: string): Promise<void> {
  const child = spawn(process.execPath, [...register, "--input-type=module", "-e", "setInterval(() => {}, 60_000);"], {
    env: telemetryEnv(env),
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  try {
    await waitFor(() => stderr.includes(text), { timeoutMs: 20_000, description: `"${text}" on stderr` });
  } finally {
    child.kill("SIGKILL");
  }
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
  it("are reported on stderr: a misspelt exporter", async () => {
    await expectOnStderr(
      { OTEL_METRICS_EXPORTER: "promethus" },
      'Unsupported OTEL_METRICS_EXPORTER value: "promethus"',
    );
  });

  it("are reported on stderr: a metrics port already taken", async () => {
    const taken = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => taken.listen(port, "0.0.0.0", resolve));
    try {
      await expectOnStderr({ OTEL_EXPORTER_PROMETHEUS_PORT: String(port) }, "EADDRINUSE");
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

// Scrapes are routine: stderr is for what an operator must read, not a line per scrape.
describe("a service's stderr while Prometheus scrapes it", () => {
  it.each([
    ["traces off (npm start without a collector)", { OTEL_TRACES_EXPORTER: "none" }],
    ["traces to OTLP (the images' default)", { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" }],
  ])("stays empty: %s", async (_, env) => {
    const port = await freePort();
    const run = withTelemetry(
      { ...env, OTEL_EXPORTER_PROMETHEUS_PORT: String(port) },
      `const scrape = () => fetch("http://127.0.0.1:${port}/metrics").then((res) => res.text());
      const deadline = Date.now() + 10_000;
      let text;
      while (!text && Date.now() < deadline) text = await scrape().catch(() => undefined);
      for (let n = 0; n < 2; n++) console.log((await scrape()).includes("target_info"));
      process.exit(0);`,
    );
    expect(run.stdout.trim().split("\n")).toEqual(["true", "true"]);
    expect(run.stderr).toBe("");
  });
});

// "none" turns traces off only when it comes first; beside another exporter the SDK
// uses otlp, and so must the span processors given to it.
describe("OTEL_TRACES_EXPORTER", () => {
  it.each([
    ["none", "false"],
    ["otlp,none", "true"],
    ["console", "true"],
  ])("%s: spans record %s", (exporters, recording) => {
    const run = withTelemetry(
      { OTEL_TRACES_EXPORTER: exporters, OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" },
      `const { trace } = await import("@opentelemetry/api");
      console.log(trace.getTracer("test").startSpan("probe").isRecording());
      process.exit(0);`,
    );
    expect(run.stdout.trim().split("\n").at(-1)).toBe(recording);
  });
});

// A collector that accepts connections and never answers (hung, or behind a silent
// network) held the last export for the exporter's timeouts and retries, ~30 s: the
// shutdown budget (deploy/src/shutdown-budget.ts) gives it 2 of its 10 s of closing.
describe("the shutdown's last span export", () => {
  it("gives up on a collector that does not answer, within the shutdown budget", async () => {
    const sockets = new Set<import("node:net").Socket>();
    const collector = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    const { port } = collector.address() as import("node:net").AddressInfo;
    try {
      const child = spawn(
        process.execPath,
        [
          ...register,
          "--input-type=module",
          "-e",
          `const { trace } = await import("@opentelemetry/api");
          const { shutdownTelemetry } = await import("@shopmesh/telemetry");
          trace.getTracer("test").startSpan("last").end();
          const started = performance.now();
          await shutdownTelemetry();
          console.log("shut down after", Math.round(performance.now() - started), "ms");
          process.exit(0);`,
        ],
        {
          env: telemetryEnv({
            OTEL_TRACES_EXPORTER: "otlp",
            OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
            OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
          }),
          stdio: ["ignore", "pipe", "ignore"],
        },
      );
      let stdout = "";
      child.stdout?.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      try {
        const [, ms] = await waitFor(() => /shut down after (\d+) ms/.exec(stdout) ?? undefined, {
          timeoutMs: 45_000,
          description: "the shutdown to finish",
        });
        expect(Number(ms)).toBeLessThanOrEqual(5_000); // 2 s, with room for a busy machine
      } finally {
        child.kill("SIGKILL");
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => collector.close(resolve));
    }
  }, 60_000);
});
