import { defineShopmeshConfig } from "@shopmesh/testing/vitest-preset";

export default defineShopmeshConfig({ test: { testTimeout: 60_000, hookTimeout: 120_000 } });
