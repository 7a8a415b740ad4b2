/**
 * Runs the launcher of `npm start` (tools/local-mesh.ts) with the options given as
 * JSON in argv[2]: how the process tests start it on free ports, beside whatever mesh
 * this machine already runs on the fixed ones.
 */
import { type LocalMeshOptions, runLocalMesh } from "../../tools/local-mesh.js";

runLocalMesh(JSON.parse(process.argv[2] ?? "{}") as LocalMeshOptions);
