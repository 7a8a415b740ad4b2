import { FailureSummaryReporter } from "@shopmesh/testing/failure-summary";
import { defineConfig } from "vitest/config";

/** Every package's suite, run together by `npm test`. */
export default defineConfig({
  test: {
    projects: ["packages/*", "services/*", "e2e", "web", "deploy"],
    // A CI that keeps only the end of the output still says what failed.
    reporters: ["default", new FailureSummaryReporter()],
  },
});
