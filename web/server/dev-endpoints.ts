import type { IncomingMessage, ServerResponse } from "node:http";
import type { Plugin } from "vite";

/** What the local storefront server adds to the static app. */
export interface DevEndpointsOptions {
  /** Served as `/config.json` (see src/config.ts); the identity is `{ kind: "dev" }`. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Signs a token for a demo customer with the development key, which stays in this process. */
  readonly signCustomerToken: (customerId: string) => Promise<string>;
}

/** A connect-style request handler. */
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

const customerPattern = /^[A-Za-z0-9_.@-]{1,64}$/;

/**
 * Development-only endpoints: `GET /config.json` and `POST /dev/token?customer=ID`
 * (the demo sign-in). Never part of a production build; `npm start` and the browser
 * tests serve them next to the app.
 */
export function createDevEndpoints(options: DevEndpointsOptions): Middleware {
  return (req, res, next) => {
    const url = new URL(req.url ?? "/", "http://storefront.local");
    if (url.pathname === "/config.json" && req.method === "GET") {
      reply(res, 200, { ...options.config, identity: { kind: "dev", tokenUrl: "/dev/token" } });
      return;
    }
    if (url.pathname !== "/dev/token") return next();
    if (req.method !== "POST") return reply(res, 405, { error: "use POST" });
    const customer = url.searchParams.get("customer") ?? "demo-customer";
    if (!customerPattern.test(customer)) {
      return reply(res, 400, { error: "a customer id is 1-64 letters, digits, _ . @ or -" });
    }
    options.signCustomerToken(customer).then(
      (token) => reply(res, 200, { token }),
      (error: unknown) => reply(res, 500, { error: error instanceof Error ? error.message : String(error) }),
    );
  };
}

/** The endpoints as a Vite plugin, for the dev server and `vite preview`. */
export function devEndpointsPlugin(options: DevEndpointsOptions): Plugin {
  const middleware = createDevEndpoints(options);
  return {
    name: "shopmesh-dev-endpoints",
    configureServer: (server) => {
      server.middlewares.use(middleware);
    },
    configurePreviewServer: (server) => {
      server.middlewares.use(middleware);
    },
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}
