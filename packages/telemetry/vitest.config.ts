import { defineShopmeshConfig } from "@shopmesh/testing/vitest-preset";

export default defineShopmeshConfig({ test: { testTimeout: 30_000, hookTimeout: 60_000 } });
