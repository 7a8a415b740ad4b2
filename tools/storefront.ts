/**
 * Serves the storefront (web/) for local use: the Vite dev server on
 * http://localhost:5173 (or a given port) with the development endpoints —
 * `/config.json` and the demo sign-in `/dev/token`, which signs with the development key held by this
 * process (the browser never sees the key). Used by `npm start`.
 */
import { fileURLToPath } from "node:url";
import { devEndpointsPlugin } from "@shopmesh/web/dev-server";
import { createServer } from "vite";
import { demoToken } from "./dev-identity.js";

/** The storefront's local port; the services' CORS_ORIGINS must allow its origins. */
export const storefrontPort = 5173;

/** The origins the storefront on `port` is reached at. */
export function storefrontOrigins(port = storefrontPort): string[] {
  return [`http://localhost:${port}`, `http://127.0.0.1:${port}`];
}

/** Where the storefront listens and what its page calls. */
export interface StorefrontOptions {
  /** The collector's OTLP/HTTP traces endpoint, as the services use it. */
  readonly tracesUrl?: string | undefined;
  readonly port?: number;
  /** The order and catalog Connect URLs (default: :8081 and :8082 on the page's host). */
  readonly orderUrl?: string;
  readonly catalogUrl?: string;
}

/**
 * Starts the dev server. With `tracesUrl` the browser exports its spans to
 * `/v1/traces` on its own origin and the dev server forwards them, so the collector
 * needs no CORS. STOREFRONT_OTLP_TRACES_URL sends them straight to another URL instead.
 */
export async function startStorefront(
  options: StorefrontOptions = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const { tracesUrl, port = storefrontPort } = options;
  const root = fileURLToPath(new URL("../web/", import.meta.url));
  const config: Record<string, unknown> = {};
  if (options.orderUrl) config.orderUrl = options.orderUrl;
  if (options.catalogUrl) config.catalogUrl = options.catalogUrl;
  const forward = tracesUrl ? new URL(tracesUrl) : undefined;
  if (forward) config.otlpTracesUrl = "/v1/traces";
  if (process.env.STOREFRONT_OTLP_TRACES_URL) config.otlpTracesUrl = process.env.STOREFRONT_OTLP_TRACES_URL;
  const proxy = forward
    ? { "/v1/traces": { target: forward.origin, changeOrigin: true, rewrite: () => forward.pathname } }
    : undefined;
  const server = await createServer({
    root,
    configFile: `${root}vite.config.ts`,
    logLevel: "warn",
    server: { host: "127.0.0.1", port, strictPort: true, ...(proxy ? { proxy } : {}) },
    plugins: [devEndpointsPlugin({ config, signCustomerToken: (customer) => demoToken("customer", customer) })],
  });
  await server.listen();
  return { url: `http://localhost:${port}`, close: () => server.close() };
}
