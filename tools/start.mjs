/**
 * `npm start`: installs what a fresh clone lacks, then starts the mesh
 * (tools/start-mesh.ts) with the workspace packages' TypeScript sources.
 */
import { spawn } from "node:child_process";
import { ensureInstalled, root } from "./run.mjs";

ensureInstalled();
const child = spawn(process.execPath, ["--conditions=@shopmesh/source", "--import", "tsx", "tools/start-mesh.ts"], {
  cwd: root,
  stdio: "inherit",
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 1));
