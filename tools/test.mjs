/**
 * The one test command (`npm test`): installs what a fresh clone lacks, checks the
 * contracts (lint, generated code fresh, no breaking change), lints and typechecks
 * the code, then runs every package's vitest suite against real PostgreSQL and NATS
 * (see packages/testing for how they are found or started).
 */
import { spawnSync } from "node:child_process";
import { bin, ensureInstalled, root, run } from "./run.mjs";

ensureInstalled();
run("node", ["tools/generate.mjs", "--check"]);
run(bin("buf"), ["lint"]);
run(bin("buf"), ["format", "--diff", "--exit-code", "--path", "proto/shopmesh"]);
for (const against of breakingBaselines()) {
  run(bin("buf"), ["breaking", "--against", `.git#ref=${against}`]);
}
run(bin("biome"), ["check", "."]);
run("node", ["tools/check-observability.mjs"]);
run(bin("turbo"), ["run", "typecheck"], { env: { TURBO_TELEMETRY_DISABLED: "1" } });
run(bin("tsc"), ["-p", "tools"]);
run("node", ["tools/deploy-prerequisites.mjs"]);
run(bin("vitest"), ["run", ...process.argv.slice(2)]);

/**
 * Earlier contracts to compare with: BUF_BREAKING_AGAINST when a CI knows the landed
 * ref; otherwise the parent commit (catches the latest change) and the first commit
 * whose contracts built (catches any change to what has been published since).
 */
function breakingBaselines() {
  if (process.env.BUF_BREAKING_AGAINST) return [process.env.BUF_BREAKING_AGAINST];
  const git = (...args) => spawnSync("git", args, { cwd: root, encoding: "utf8" }).stdout.trim();
  const first = git("log", "--reverse", "--format=%H", "--", "proto/buf/validate/validate.proto").split("\n")[0];
  const parent = git("rev-parse", "--verify", "--quiet", "HEAD~1");
  return [...new Set([parent, first].filter((ref) => ref && ref !== git("rev-parse", "HEAD")))].filter(
    (ref) => git("ls-tree", "--name-only", ref, "proto/shopmesh") !== "",
  );
}
