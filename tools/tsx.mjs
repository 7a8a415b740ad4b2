/**
 * Runs a TypeScript tool of this repository (`node tools/tsx.mjs tools/start-mesh.ts …`):
 * installs what a fresh clone lacks, then runs the file with tsx and the workspace
 * packages' TypeScript sources, forwarding signals. The tool gets an IPC channel, so
 * one that starts processes (`npm start`) learns when this wrapper is gone, even
 * killed outright, and stops them (onParentGone in @shopmesh/server).
 */
import { spawn } from "node:child_process";
import { ensureInstalled, root } from "./run.mjs";

ensureInstalled();
const [file, ...args] = process.argv.slice(2);
// The tool runs detached, in a process group (and session) of its own, with whatever it
// starts: a terminal's Ctrl-C (or hang-up) reaches only this wrapper, which passes it on,
// so a tool that stops its processes in order (npm start: services, then NATS and
// PostgreSQL) is not raced by the same signal sent straight to each of them.
const child = spawn(process.execPath, ["--conditions=@shopmesh/source", "--import", "tsx", file, ...args], {
  cwd: root,
  stdio: ["inherit", "inherit", "inherit", "ipc"],
  detached: true,
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 1));
