import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium } from "playwright-core";
import { build } from "vite";

/** Debian's Chromium; playwright-core drives it (no browser download, ever). */
export const chromiumPath = "/usr/bin/chromium";

const flags = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

/** Installs Debian's `chromium` package when it is missing (CI on a clean machine). */
export function ensureChromium(): void {
  if (existsSync(chromiumPath)) return;
  const apt = (...args: string[]) =>
    spawnSync("apt-get", args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  if (apt("install", "-y", "chromium").status !== 0) {
    apt("update");
    apt("install", "-y", "chromium");
  }
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing and apt-get could not install chromium`);
}

/** A headless Chromium with a fresh profile, closed (and its profile removed) by `close`. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  ensureChromium();
  const profile = await mkdtemp(join(tmpdir(), "shopmesh-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: flags,
    viewport: { width: 1024, height: 800 },
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

const webDir = fileURLToPath(new URL("..", import.meta.url));

/** Builds the app as shipped (vitest sets NODE_ENV=test, which would make a development build). */
export async function buildStorefront(outDir: string): Promise<void> {
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = "production";
  try {
    await build({
      root: webDir,
      configFile: join(webDir, "vite.config.ts"),
      logLevel: "warn",
      build: { outDir, emptyOutDir: true, sourcemap: false },
    });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
}
