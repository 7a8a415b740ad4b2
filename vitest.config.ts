import { defineConfig } from "vitest/config";

/** Every package's suite, run together by `npm test`. */
export default defineConfig({
  test: {
    projects: ["packages/*", "services/*", "e2e", "web", "deploy"],
  },
});
