/** Prints the Node it runs on and the one a `node` started by name is: what a test of tools/tsx.mjs compares. */
import { execFileSync } from "node:child_process";

const byName = execFileSync("node", ["-v"], { encoding: "utf8" }).trim();
console.log(JSON.stringify({ tool: process.version, byName }));
