/**
 * `npm start`: the whole mesh on this machine on its fixed ports (see tools/local-mesh.ts).
 * Ctrl-C stops everything it started, services first.
 */
import { runLocalMesh } from "./local-mesh.js";

runLocalMesh();
