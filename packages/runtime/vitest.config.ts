import { defineConfig } from "vitest/config";

// Pure tests only: workspace packages resolved to their TypeScript sources, and no
// PostgreSQL or NATS started for them (the services' and e2e suites run the real thing).
const conditions = ["@shopmesh/source"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: { include: ["src/**/*.test.ts"] },
});
