import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "@shopmesh/testing";
import { parse, stringify } from "yaml";

const root = new URL("../../", import.meta.url).pathname;
const observability = join(root, "deploy/observability/prometheus");

/** One series of an instant query's answer. */
export interface Sample {
  readonly metric: Record<string, string>;
  readonly value: readonly [number, string];
}

/** A rule as Prometheus reports it after evaluating it. */
export interface EvaluatedRule {
  readonly name: string;
  readonly health: string;
  readonly lastError?: string;
  readonly state?: string;
}

/** A Prometheus server of its own, scraping the services of a test mesh. */
export interface TestPrometheus {
  /** Evaluates PromQL now; throws with Prometheus's message when it is not valid. */
  query(expr: string): Promise<Sample[]>;
  /** Every rule of the loaded rule files, as last evaluated. */
  rules(): Promise<EvaluatedRule[]>;
  /** Stops the server and removes its data. */
  stop(): Promise<void>;
}

/**
 * Starts Prometheus with deploy/observability's own configuration — its scrape jobs
 * (the job names the dashboards and alerts select by) and its alert rules — with
 * each job's target moved to the test service's metrics port, and scrapes and rule
 * evaluations every second instead of every 15. Resolves once every job is scraped.
 */
export async function startPrometheus(targets: Record<string, number>, timeoutMs = 30_000): Promise<TestPrometheus> {
  const binary = prometheusBinary();
  const dir = await mkdtemp(join(tmpdir(), "shopmesh-prometheus-"));
  const config = parse(readFileSync(join(observability, "prometheus.yml"), "utf8")) as PrometheusConfig;
  config.global = { ...config.global, scrape_interval: "1s", evaluation_interval: "1s" };
  config.rule_files = config.rule_files.map((file) => join(observability, file));
  for (const job of config.scrape_configs) {
    const port = targets[job.job_name];
    if (port === undefined) throw new Error(`no test target for scrape job ${job.job_name}`);
    job.static_configs = [{ targets: [`127.0.0.1:${port}`] }];
  }
  await writeFile(join(dir, "prometheus.yml"), stringify(config));
  const port = await freePort();
  const child = spawn(
    binary,
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let output = "";
  child.stderr.on("data", (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const stop = async () => {
    process.off("exit", killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const base = `http://127.0.0.1:${port}`;
  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${base}${path}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== "success") throw new Error(`Prometheus ${path}: ${body.error ?? response.status}`);
    return body.data;
  };
  const ready = await waitFor(
    async () => {
      if (child.exitCode !== null) return "exited";
      return (
        (await fetch(`${base}/-/ready`)
          .then((r) => r.ok)
          .catch(() => false)) && "ready"
      );
    },
    { timeoutMs, intervalMs: 100, description: `Prometheus on ${base} to be ready` },
  ).catch((error: Error) => error.message);
  if (ready !== "ready") {
    await stop();
    throw new Error(`Prometheus did not start (${ready}). Its output:\n${output}`);
  }
  const query = async (expr: string) =>
    (await api<{ result: Sample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result;
  // Prometheus takes its scrape targets a few seconds after it is ready.
  const jobs = Object.keys(targets).length;
  await waitFor(async () => (await query("up == 1")).length === jobs, {
    timeoutMs,
    intervalMs: 250,
    description: `Prometheus to scrape ${Object.keys(targets).join(", ")}`,
  }).catch(async (error: Error) => {
    await stop();
    throw error;
  });
  return {
    query,
    rules: async () =>
      (await api<{ groups: { rules: EvaluatedRule[] }[] }>("/api/v1/rules")).groups.flatMap((group) => group.rules),
    stop,
  };
}

interface PrometheusConfig {
  global?: Record<string, unknown>;
  rule_files: string[];
  scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
}

/** The `prometheus` binary: on the PATH, or unpacked by tools/prometheus.mjs. */
function prometheusBinary(): string {
  const found = spawnSync("node", [join(root, "tools/prometheus.mjs"), "prometheus"], { encoding: "utf8" });
  const binary = found.stdout.trim();
  if (found.status !== 0 || !binary) {
    throw new Error(
      "no prometheus binary: put one on the PATH (Debian: the prometheus package) or let tools/prometheus.mjs unpack it",
    );
  }
  return binary;
}
