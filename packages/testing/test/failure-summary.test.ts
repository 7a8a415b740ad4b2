import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";

const vitest = fileURLToPath(new URL("../../../node_modules/vitest/vitest.mjs", import.meta.url));
const reporter = fileURLToPath(new URL("../src/failure-summary.js", import.meta.url));
const folders: string[] = [];

afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** Runs vitest, with the reporter after the default one, on a folder holding one test file. */
function runVitest(tests: string) {
  const folder = mkdtempSync(join(tmpdir(), "failure-summary-"));
  folders.push(folder);
  writeFileSync(join(folder, "sample.test.ts"), `import { expect, test } from "vitest";\n${tests}`);
  writeFileSync(
    join(folder, "vitest.config.mjs"),
    `import { FailureSummaryReporter } from ${JSON.stringify(reporter)};
     export default { test: { include: ["*.test.ts"], reporters: ["default", new FailureSummaryReporter()] } };`,
  );
  // This file's own vitest run must not leak into the one it starts.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("VITEST")));
  const run = spawnSync(process.execPath, [vitest, "run", "--root", folder], {
    cwd: folder,
    env: { ...env, NO_COLOR: "1", CI: "1" },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: run.status, lines: `${run.stdout}\n${run.stderr}`.trimEnd().split("\n") };
}

describe("the failure summary reporter", () => {
  test("ends a failed run with each failed test and each unhandled error: file, test, message and our frame", () => {
    const { status, lines } = runVitest(`
test("passes", () => { expect(1).toBe(1); });
test("compares", () => { expect("shelf").toBe("shelves"); });
test("drops a promise", async () => {
  void Promise.reject(new Error("nobody awaited this"));
  await new Promise((resolve) => setImmediate(resolve)); // Node reports the rejection before this turn ends
});
`);
    expect(status).toBe(1);
    const summary = lines.slice(lines.lastIndexOf("What failed (2):"));
    expect(summary).toHaveLength(3);
    expect(summary[1]).toMatch(
      /^✖ sample\.test\.ts > compares: AssertionError: expected 'shelf' to be 'shelves'.* ← sample\.test\.ts:4:/,
    );
    expect(summary[2]).toMatch(
      /^✖ Unhandled Rejection in sample\.test\.ts > drops a promise: Error: nobody awaited this ← sample\.test\.ts:6:/,
    );
  });

  test("adds nothing to a run that passed", () => {
    const { status, lines } = runVitest(`test("passes", () => { expect(1).toBe(1); });`);
    expect(status).toBe(0);
    expect(lines.some((line) => line.startsWith("What failed"))).toBe(false);
  });
});
