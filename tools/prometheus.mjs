/**
 * Prometheus's own binaries, for checks and tests: `promtool` (the configuration and
 * the alert rules' unit tests, tools/check-observability.mjs) and `prometheus` (the
 * e2e test that runs the dashboards' queries and the alert rules against the
 * services' real metrics). The one on the PATH if any; else the one unpacked from
 * Debian's `prometheus` package into .shopmesh/tools — downloaded and unpacked, not
 * installed, since installing the package would also start a Prometheus server.
 *
 * Usage: node tools/prometheus.mjs promtool|prometheus   (prints the binary's path)
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { root } from "./run.mjs";

const unpacked = join(root, ".shopmesh/tools/prometheus");

/**
 * The path of a working `promtool` or `prometheus`, or undefined where there is none
 * and Debian's packages are out of reach.
 */
export function prometheusBinary(name) {
  const local = join(unpacked, "usr/bin", name);
  if (works(name)) return name;
  if (works(local)) return local;
  if (!works("apt-get", ["--version"])) return undefined;
  const download = mkdtempSync(join(tmpdir(), "shopmesh-prometheus-"));
  try {
    const fetched = () => spawnSync("apt-get", ["download", "-qq", "prometheus"], { cwd: download, stdio: "ignore" });
    // A fresh machine may not have read Debian's package lists yet.
    if (fetched().status !== 0) {
      spawnSync("apt-get", ["update", "-qq"], { stdio: "ignore" });
      if (fetched().status !== 0) return undefined;
    }
    const deb = readdirSync(download).find((file) => file.endsWith(".deb"));
    if (!deb) return undefined;
    mkdirSync(unpacked, { recursive: true });
    spawnSync("dpkg-deb", ["-x", join(download, deb), unpacked], { stdio: "ignore" });
    return works(local) ? local : undefined;
  } finally {
    rmSync(download, { recursive: true, force: true });
  }
}

function works(command, args = ["--version"]) {
  return spawnSync(command, args, { stdio: "ignore" }).status === 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const binary = prometheusBinary(process.argv[2] ?? "prometheus");
  if (!binary) process.exit(1);
  console.log(binary);
}
