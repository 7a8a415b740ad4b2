import type { ViteUserConfig } from "vitest/config";

/**
 * The vitest config every shopmesh package uses: tests in `src/` and `test/`,
 * workspace packages resolved to their TypeScript sources, and the shared
 * PostgreSQL/NATS global setup. Overrides are merged with vite's `mergeConfig`
 * (arrays are appended).
 *
 * ```ts
 * import { defineShopmeshConfig } from "@shopmesh/testing/vitest-preset";
 * export default defineShopmeshConfig({ test: { testTimeout: 20_000 } });
 * ```
 */
export declare function defineShopmeshConfig(overrides?: ViteUserConfig): ViteUserConfig;
