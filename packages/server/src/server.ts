import { setMaxListeners } from "node:events";
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { type AddressInfo, Server as NetServer } from "node:net";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { Server as GrpcServer, ServerCredentials } from "@grpc/grpc-js";
import { Health } from "@shopmesh/gen/grpc/health/v1/health_pb.js";
import { createRpcTelemetryInterceptor } from "@shopmesh/telemetry";
import type { Logger } from "pino";
import { createConnectHandler } from "./connect-adapter.js";
import { createStreamDrainInterceptor } from "./drain.js";
import { createErrorInterceptor } from "./errors.js";
import { addGrpcService } from "./grpc-adapter.js";
import { routeGrpcLogs } from "./grpc-logs.js";
import { createHealthState, type HealthState, ServingStatus } from "./health.js";
import { defaultMaxMessageBytes } from "./message-limits.js";
import { registerService, type ServiceRegistration } from "./service-registration.js";
import { createValidationInterceptor } from "./validation.js";

/** How a service process serves its RPCs. */
export interface ServerOptions {
  readonly logger: Logger;
  /** host:port of the gRPC (HTTP/2) listener; port 0 picks a free one. */
  readonly grpcAddress: string;
  /** host:port of the Connect / gRPC-Web (HTTP/1.1) listener; port 0 picks a free one. */
  readonly httpAddress: string;
  readonly services: readonly ServiceRegistration[];
  /**
   * Interceptors between tracing and error normalisation (outermost) and request
   * validation (innermost), such as caller identity. They run on both listeners.
   */
  readonly interceptors?: readonly Interceptor[];
  /** Largest request or response message, both listeners (default 1 MiB). */
  readonly maxMessageBytes?: number;
  /** Browser origins allowed on the Connect listener. */
  readonly corsOrigins?: readonly string[];
  /** How long in-flight calls may take to finish at shutdown (default 10 s). */
  readonly shutdownGraceMs?: number;
}

/** A serving process's listeners. */
export interface RunningServer {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly health: HealthState;
  /** Marks every service SERVING. Call once dependencies are ready. */
  markServing(): void;
  /**
   * Shuts down in order: report NOT_SERVING, stop taking new calls, end streams with
   * UNAVAILABLE, let unary calls finish within the grace period, then close.
   */
  close(): Promise<void>;
}

/**
 * Serves one implementation of each service twice: gRPC over HTTP/2 with grpc-js
 * (service to service, any language) and the Connect protocol plus gRPC-Web over
 * HTTP/1.1 with connect-node (browsers, curl; public services only). The standard
 * grpc.health.v1.Health service is added on both.
 *
 * ```ts
 * const server = await startServer({ logger, grpcAddress: "0.0.0.0:50051",
 *   httpAddress: "0.0.0.0:8081", services: [registerService(OrderService, impl, "public")] });
 * server.markServing();
 * ```
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const maxMessageBytes = options.maxMessageBytes ?? defaultMaxMessageBytes;
  const shutdownGraceMs = options.shutdownGraceMs ?? 10_000;
  const health = createHealthState(options.services.map((registration) => registration.service.typeName));
  const draining = new AbortController();
  const forced = new AbortController();
  // Every call in flight listens to these two signals.
  setMaxListeners(0, draining.signal, forced.signal);
  const interceptors = [
    createRpcTelemetryInterceptor(),
    createErrorInterceptor(options.logger),
    createStreamDrainInterceptor(draining.signal),
    ...(options.interceptors ?? []),
    createValidationInterceptor(),
  ];
  const registrations = [registerService(Health, health.impl), ...options.services];

  routeGrpcLogs(options.logger);
  const grpcServer = new GrpcServer({
    "grpc.max_receive_message_length": maxMessageBytes,
    "grpc.max_send_message_length": maxMessageBytes,
    // Clients balance over the addresses they resolved when they connected; ending each
    // connection after a few minutes (GOAWAY, in-flight calls finish within the grace)
    // makes them re-resolve, so replicas added by a scale-up receive calls too.
    "grpc.max_connection_age_ms": 5 * 60_000,
    "grpc.max_connection_age_grace_ms": 60_000,
  });
  for (const registration of registrations) {
    addGrpcService(grpcServer, registration, interceptors, forced.signal);
  }
  const grpcPort = await new Promise<number>((resolve, reject) => {
    grpcServer.bindAsync(options.grpcAddress, ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolve(port),
    );
  });

  const connectHandler = createConnectHandler(registrations, {
    interceptors,
    maxMessageBytes,
    corsOrigins: options.corsOrigins ?? [],
    shutdownSignal: forced.signal,
  });
  // HTTP/1.1 keep-alive connections outlive server.close(): while draining, every
  // response says Connection: close, so that a client that keeps sending goes
  // elsewhere after its current call instead of being cut off when the grace ends.
  const unanswered = new Set<ServerResponse>();
  const httpServer = createHttpServer((request, response) => {
    if (draining.signal.aborted) response.setHeader("Connection", "close");
    else {
      unanswered.add(response);
      response.once("close", () => unanswered.delete(response));
    }
    closeWhenAnsweredUnread(request, response);
    connectHandler(request, response);
  });
  const httpPort = await listen(httpServer, options.httpAddress).catch((error: unknown) => {
    grpcServer.forceShutdown(); // bound already: a failed start must not keep its port
    throw error;
  });
  options.logger.info({ grpcPort, httpPort }, "listening");

  let closing: Promise<void> | undefined;
  return {
    grpcPort,
    httpPort,
    health,
    markServing() {
      for (const { service } of registrations) health.set(service.typeName, ServingStatus.SERVING);
      health.set("", ServingStatus.SERVING);
    },
    close() {
      closing ??= shutdown();
      return closing;
    },
  };

  async function shutdown(): Promise<void> {
    health.shutdown();
    draining.abort(new ConnectError("server is shutting down", Code.Unavailable));
    let forcing: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      options.logger.warn({ shutdownGraceMs }, "calls still in flight after the grace period; forcing");
      forced.abort(new ConnectError("server is shutting down", Code.Unavailable));
      // Handlers that honour their signal answer UNAVAILABLE now: let those answers
      // leave before the connections are cut (a cut call is CANCELLED/ABORTED to clients).
      forcing = setTimeout(() => {
        grpcServer.forceShutdown();
        httpServer.closeAllConnections();
      }, forceDelayMs);
    }, shutdownGraceMs);
    for (const response of unanswered) {
      if (!response.headersSent) response.setHeader("Connection", "close");
    }
    // Stop listening without http.Server.close(), which also closes idle keep-alive
    // connections at once: a client may be sending its next call on one right then. Each
    // call that still comes on a kept-alive connection is answered with Connection: close;
    // connections left idle are closed after a moment, when clients have moved on.
    const lingering = setTimeout(() => httpServer.closeIdleConnections(), idleLingerMs);
    await Promise.all([
      new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve())),
      new Promise<void>((resolve) => {
        netServerClose.call(httpServer, () => resolve());
      }),
    ]);
    // Closed already: this only stops the timer that checks connections, which would
    // otherwise keep the server, and all that its routes hold, reachable for ever.
    httpServer.close();
    clearTimeout(lingering);
    clearTimeout(timer);
    clearTimeout(forcing);
    options.logger.info("stopped serving");
  }
}

/** How long idle keep-alive connections are left to their clients at shutdown (see shutdown()). */
const idleLingerMs = 1_000;

const netServerClose = NetServer.prototype.close;

/** How long forced calls get to send their UNAVAILABLE before connections are cut. */
const forceDelayMs = 250;

/**
 * An answer sent before its request's body was read (a body over readMaxBytes, sent
 * without a length) ends its connection: connect-node stops reading such a body by
 * destroying the request, after which Node reads no further request on that
 * connection — the client's next call on it would wait for ever.
 */
function closeWhenAnsweredUnread(request: IncomingMessage, response: ServerResponse): void {
  const writeHead = response.writeHead;
  response.writeHead = function (this: ServerResponse, ...args: Parameters<typeof writeHead>) {
    if (!request.complete) this.shouldKeepAlive = false;
    return writeHead.apply(this, args);
  } as typeof writeHead;
}

function listen(server: HttpServer, address: string): Promise<number> {
  const { host, port } = splitHostPort(address);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Splits "host:port" (or "[::1]:port"). */
export function splitHostPort(address: string): { host: string; port: number } {
  const separator = address.lastIndexOf(":");
  const host = address.slice(0, separator).replace(/^\[(.*)\]$/, "$1");
  return { host, port: Number(address.slice(separator + 1)) };
}
