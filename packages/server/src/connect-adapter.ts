import type { IncomingMessage, ServerResponse } from "node:http";
import { type ConnectRouter, cors as connectCors, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { ServiceRegistration } from "./service-registration.js";

/** Options of the Connect / gRPC-Web listener. */
export interface ConnectHandlerOptions {
  readonly interceptors: readonly Interceptor[];
  readonly maxMessageBytes: number;
  /** Origins allowed to call from a browser (CORS); empty allows none. */
  readonly corsOrigins: readonly string[];
  readonly shutdownSignal: AbortSignal;
}

type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * JSON is UTF-8 (RFC 8259): a body that is not is INVALID_ARGUMENT, as a binary message
 * with such a string is on either listener, instead of text silently turned into U+FFFD.
 * connect-es takes the decoder from these options (createJsonSerialization), though
 * connect-node's type for them leaves it out; unknown fields stay ignored, its default.
 */
const strictJson = { ignoreUnknownFields: true, textDecoder: new TextDecoder("utf-8", { fatal: true }) };

/**
 * Serves the public services over the Connect protocol and gRPC-Web (HTTP/1.1, for
 * browsers and curl). Internal services are not routed here at all.
 */
export function createConnectHandler(
  registrations: readonly ServiceRegistration[],
  options: ConnectHandlerOptions,
): NodeHandler {
  const routes = (router: ConnectRouter) => {
    for (const { service, impl, exposure } of registrations) {
      if (exposure === "public") router.service(service, impl);
    }
  };
  const connect = connectNodeAdapter({
    routes,
    interceptors: [...options.interceptors],
    readMaxBytes: options.maxMessageBytes,
    writeMaxBytes: options.maxMessageBytes,
    jsonOptions: strictJson,
    // Any deadline a timer can keep (about 24.8 days; Node turns a longer delay into
    // 1 ms, which would end the call at once), refused above that; a client may ask for
    // none. (grpc-js wraps a longer one on the gRPC listener, ending the call at once.)
    maxTimeoutMs: 2_147_483_647,
    shutdownSignal: options.shutdownSignal,
    grpc: false,
  });
  return (req, res) => {
    if (applyCors(req, res, options.corsOrigins)) return;
    connect(req, res);
  };
}

const allowedHeaders = [...connectCors.allowedHeaders, "Authorization", "traceparent", "tracestate"].join(", ");
const exposedHeaders = connectCors.exposedHeaders.join(", ");

/** Answers preflights itself and decorates other responses; true when the request is done. */
function applyCors(req: IncomingMessage, res: ServerResponse, origins: readonly string[]): boolean {
  // Every answer depends on the origin once any is allowed: one without the CORS headers
  // (no origin, or another) must not be served from a shared cache to an allowed origin.
  if (origins.length > 0) res.setHeader("Vary", "Origin");
  const origin = req.headers.origin;
  if (origin === undefined || !(origins.includes(origin) || origins.includes("*"))) return false;
  res.setHeader("Access-Control-Allow-Origin", origin);
  res.setHeader("Access-Control-Expose-Headers", exposedHeaders);
  if (req.method !== "OPTIONS") return false;
  res.writeHead(204, {
    "Access-Control-Allow-Methods": connectCors.allowedMethods.join(", "),
    "Access-Control-Allow-Headers": allowedHeaders,
    "Access-Control-Max-Age": "7200",
  });
  res.end();
  return true;
}
