import { defaultClientConditions, defineConfig } from "vite";

/**
 * The storefront's build: a static single-page app in dist/. Workspace packages
 * (the generated contracts) resolve to their TypeScript sources. The dev server
 * with the development sign-in endpoint is started by `npm start`
 * (tools/storefront.ts), not by this file.
 */
export default defineConfig({
  resolve: { conditions: ["@shopmesh/source", ...defaultClientConditions] },
  oxc: { jsx: { runtime: "automatic" } },
  // The generated contract descriptors and OpenTelemetry make one ~520 kB (150 kB gzip) chunk.
  build: { target: "es2022", sourcemap: true, chunkSizeWarningLimit: 800 },
});
