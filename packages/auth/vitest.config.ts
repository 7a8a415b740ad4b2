import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["@shopmesh/source"] },
  ssr: { resolve: { conditions: ["@shopmesh/source"] } },
  test: { include: ["src/**/*.test.ts", "test/**/*.test.ts"] },
});
