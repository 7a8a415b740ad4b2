import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { extname, join, normalize, sep } from "node:path";
import { createDevEndpoints, type DevEndpointsOptions, type Middleware } from "./dev-endpoints.js";

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
};

/** A running static server. */
export interface StaticServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves a production build (`dist/`) as static files, plus the development
 * endpoints and any other middleware when given: what the browser tests run against.
 */
export function serveStatic(
  dir: string,
  {
    host = "127.0.0.1",
    port = 0,
    dev,
    middleware,
  }: { host?: string; port?: number; dev?: DevEndpointsOptions; middleware?: Middleware } = {},
): Promise<StaticServer> {
  const devEndpoints = dev ? createDevEndpoints(dev) : undefined;
  const find = async (path: string) => {
    const file = normalize(join(dir, path === "/" ? "index.html" : path));
    // The folder itself and what is in it, not a neighbour whose name begins with its name.
    if (!file.startsWith(join(normalize(dir), sep))) return undefined;
    const info = await stat(file).catch(() => undefined);
    return info?.isFile() ? file : undefined;
  };
  const server: Server = createServer((req, res) => {
    const serve = async () => {
      const path = decodeURIComponent(new URL(req.url ?? "/", "http://static.local").pathname);
      const file = await find(path);
      if (!file) {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found");
        return;
      }
      res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
      createReadStream(file).pipe(res);
    };
    const files = () => void serve().catch(() => res.writeHead(500).end());
    const dev = () => (devEndpoints ? devEndpoints(req, res, files) : files());
    if (middleware) middleware(req, res, dev);
    else dev();
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const address = server.address();
      const actual = typeof address === "object" && address ? address.port : port;
      resolve({
        url: `http://${host}:${actual}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
