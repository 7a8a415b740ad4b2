import type { Reporter } from "vitest/node";

/**
 * A vitest reporter that ends a failed run with a short, colourless list of what
 * failed: each failed test and each unhandled error, with its file, test, message and
 * where in our code it was thrown. A run that passed adds nothing.
 */
export declare class FailureSummaryReporter implements Reporter {
  /** @param write where the lines go (stderr by default) */
  constructor(write?: (line: string) => void);
  onTestRunEnd: NonNullable<Reporter["onTestRunEnd"]>;
}
