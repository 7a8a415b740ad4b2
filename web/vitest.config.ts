import { defineShopmeshConfig } from "@shopmesh/testing/vitest-preset";

export default defineShopmeshConfig({
  oxc: { jsx: { runtime: "automatic" } },
  test: { include: ["src/**/*.test.tsx"], testTimeout: 90_000, hookTimeout: 180_000 },
});
