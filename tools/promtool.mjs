/**
 * `promtool`, which checks the Prometheus configuration and runs the alert rules' unit
 * tests (deploy/observability/prometheus/alerts.test.yml). The one on the PATH if
 * any; else the one unpacked from Debian's `prometheus` package into .shopmesh/tools —
 * downloaded and unpacked, not installed, since installing the package would also
 * start a Prometheus server on this machine.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root } from "./run.mjs";

const unpacked = join(root, ".shopmesh/tools/prometheus");
const unpackedPromtool = join(unpacked, "usr/bin/promtool");

/** The path of a working promtool, or undefined where there is none and Debian's packages are out of reach. */
export function promtool() {
  if (works("promtool")) return "promtool";
  if (works(unpackedPromtool)) return unpackedPromtool;
  if (!works("apt-get", ["--version"])) return undefined;
  const download = mkdtempSync(join(tmpdir(), "shopmesh-promtool-"));
  try {
    const fetched = () => spawnSync("apt-get", ["download", "-qq", "prometheus"], { cwd: download, stdio: "ignore" });
    // A fresh machine may not have read Debian's package lists yet.
    if (fetched().status !== 0) {
      spawnSync("apt-get", ["update", "-qq"], { stdio: "ignore" });
      if (fetched().status !== 0) return undefined;
    }
    const deb = readdirSync(download).find((name) => name.endsWith(".deb"));
    if (!deb) return undefined;
    mkdirSync(unpacked, { recursive: true });
    spawnSync("dpkg-deb", ["-x", join(download, deb), unpacked], { stdio: "ignore" });
    return works(unpackedPromtool) ? unpackedPromtool : undefined;
  } finally {
    rmSync(download, { recursive: true, force: true });
  }
}

function works(command, args = ["--version"]) {
  return spawnSync(command, args, { stdio: "ignore" }).status === 0;
}
