// @ts-check
// Plain JavaScript on purpose: vite loads vitest.config.ts by bundling it and
// leaves bare imports to Node, which cannot load our TypeScript (Node 24 strips types,
// but only of files imported by their `.ts` name; ours import `.js` names).
import { fileURLToPath } from "node:url";
import { defineConfig, mergeConfig } from "vitest/config";

const conditions = ["@shopmesh/source"];
// Global setup files run in vitest's own `__vitest__` environment, which gets
// vite's default server conditions unless it is given a full list.
const globalSetupConditions = ["@shopmesh/source", "node", "development|production"];

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
 *
 * @param {import("vitest/config").ViteUserConfig} [overrides]
 * @returns {import("vitest/config").ViteUserConfig}
 */
export function defineShopmeshConfig(overrides = {}) {
  const base = defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions } },
    environments: { __vitest__: { resolve: { conditions: globalSetupConditions } } },
    test: {
      include: ["src/**/*.test.ts", "test/**/*.test.ts"],
      exclude: ["dist/**", "node_modules/**"],
      globalSetup: [fileURLToPath(new URL("./global-setup.ts", import.meta.url))],
    },
  });
  return mergeConfig(base, overrides);
}
