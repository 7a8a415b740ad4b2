/**
 * Runs a TypeScript tool of this repository (`node tools/tsx.mjs tools/bench.ts …`):
 * installs what a fresh clone lacks, then runs the file with tsx on the repository's
 * Node.js (`runtime()`) and the workspace
 * packages' TypeScript sources, forwarding signals (and stopping the tool when its own
 * parent, npm, is killed outright). The tool gets an IPC channel, so
 * one that starts processes learns when this wrapper is gone, even killed outright,
 * and stops them (onParentGone in @shopmesh/server).
 *
 * `--own-process-group` (npm start) runs the tool detached, in a process group and
 * session of its own with whatever it starts: a terminal's Ctrl-C (or hang-up) then
 * reaches only this wrapper, which passes it on, so a tool that stops its processes in
 * order (services, then NATS and PostgreSQL) is not raced by the same signal sent
 * straight to each of them. Only for tools that stop with their wrapper: a kill of
 * the wrapper's group (a CI timeout) no longer reaches them.
 */
import { spawn } from "node:child_process";
import { ensureInstalled, root, runtime, scriptsPath } from "./run.mjs";

// Read before anything slow (a fresh clone's npm ci): npm may be killed meanwhile.
const parent = process.ppid;
ensureInstalled();
const ownGroup = process.argv[2] === "--own-process-group";
const [file, ...args] = process.argv.slice(ownGroup ? 3 : 2);
const child = spawn(runtime(), ["--conditions=@shopmesh/source", "--import", "tsx", file, ...args], {
  cwd: root,
  // A tool that starts `node` by name starts the same one, run by npm or by hand.
  env: { ...process.env, PATH: scriptsPath },
  stdio: ["inherit", "inherit", "inherit", "ipc"],
  detached: ownGroup,
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 1));
// Killed outright, npm (the parent) passes nothing on, and this wrapper is re-parented:
// the tool is stopped then, as by a Ctrl-C, rather than left running with nobody to stop it.
setInterval(() => {
  if (process.ppid !== parent) child.kill("SIGTERM");
}, 500).unref();
