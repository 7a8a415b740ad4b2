// @ts-check
// Plain JavaScript for the same reason as vitest-preset.js: the root vitest config loads it.

/** How many stack frames of our own code to show per error. */
const framesShown = 3;
/** Longest message shown, in characters. */
const messageShown = 300;

/**
 * A vitest reporter that ends a failed run with a short, colourless list of what failed —
 * each failed test and each unhandled error with its file, the test it happened in, its
 * message and where in our code it was thrown — after the default reporter's summary.
 * A CI that keeps only the end of the output then still says what went wrong: the
 * default reporter prints an unhandled error's message and stack long before the end.
 * A run that passed adds nothing.
 *
 * ```ts
 * import { FailureSummaryReporter } from "@shopmesh/testing/failure-summary";
 * export default defineConfig({ test: { reporters: ["default", new FailureSummaryReporter()] } });
 * ```
 *
 * @implements {import("vitest/node").Reporter}
 */
export class FailureSummaryReporter {
  /** @param {(line: string) => void} [write] where the lines go (stderr) */
  constructor(write = (line) => process.stderr.write(`${line}\n`)) {
    this.write = write;
  }

  /**
   * @param {ReadonlyArray<import("vitest/node").TestModule>} testModules
   * @param {ReadonlyArray<import("vitest/node").SerializedError>} unhandledErrors
   */
  onTestRunEnd(testModules, unhandledErrors) {
    const lines = [];
    for (const module of testModules) {
      const file = relative(module.moduleId);
      for (const error of module.errors()) lines.push(`✖ ${file}: ${describe(error)}`);
      for (const test of module.children.allTests("failed")) {
        const [first] = test.result().errors ?? [];
        lines.push(`✖ ${file} > ${test.fullName}: ${first ? describe(first) : "failed"}`);
      }
    }
    for (const error of unhandledErrors) {
      const { VITEST_TEST_PATH: path, VITEST_TEST_NAME: test, type } = /** @type {Record<string, unknown>} */ (error);
      const where = [typeof path === "string" ? relative(path) : "no test file", typeof test === "string" ? test : ""];
      lines.push(`✖ ${type ?? "unhandled error"} in ${where.filter(Boolean).join(" > ")}: ${describe(error)}`);
    }
    if (lines.length === 0) return;
    this.write("");
    this.write(`What failed (${lines.length}):`);
    for (const line of lines) this.write(line);
  }
}

/**
 * An error's name and message on one line, and the first frames of its stack outside
 * node_modules and Node's internals.
 *
 * @param {{ name?: string, message?: string, stack?: string }} error
 */
function describe(error) {
  const message = (error.message ?? "").replace(/\s+/g, " ").trim().slice(0, messageShown);
  const frames = (error.stack ?? "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.startsWith("at ") && !/node_modules|node:internal|\(node:|<anonymous>/.test(line))
    .slice(0, framesShown)
    .map((line) => relative(line.replace(/^at /, "")));
  return [`${error.name ?? "Error"}: ${message}`, ...frames].join(" ← ");
}

/** @param {string} text */
function relative(text) {
  return text.replaceAll(`${process.cwd()}/`, "");
}
