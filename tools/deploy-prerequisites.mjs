/**
 * What the deploy checks need from the machine, installed from Debian's packages only
 * when missing (as on a fresh machine): docker-compose to validate deploy/compose.yaml
 * without a Docker engine, and nginx as the L7 load balancer of the multi-replica run.
 * kubectl (with its built-in kustomize) renders the Kubernetes overlays.
 */
import { spawnSync } from "node:child_process";
import { run } from "./run.mjs";

const needed = [
  { command: "docker-compose", pkg: "docker-compose" },
  { command: "nginx", pkg: "nginx-light" },
  { command: "kubectl", pkg: "kubectl" },
];

const has = (command) =>
  spawnSync("sh", ["-c", `command -v ${command} || test -x /usr/sbin/${command}`], { stdio: "ignore" }).status === 0;
const missing = needed.filter(({ command }) => !has(command));
if (missing.length > 0) {
  // Machines of this kind run as root and reach Debian's registry (see the README).
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  run("apt-get", ["update", "-qq"], { env });
  run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing.map(({ pkg }) => pkg)], { env });
}
