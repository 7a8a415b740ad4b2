import { format } from "node:util";
import { setLogger } from "@grpc/grpc-js";
import type { Logger } from "pino";

/**
 * Sends grpc-js's own log lines, which it writes to stderr by default, to the service's
 * logger — JSON like every other line — with credentials cut out: grpc-js quotes in
 * full a request header it finds malformed, a bearer token among them, where pino's
 * redaction of fields cannot reach. grpc-js logs process-wide, so the last server
 * started in a process names them.
 */
export function routeGrpcLogs(logger: Logger): void {
  const line = (args: unknown[]) => redactCredentials(format(...args));
  setLogger({
    // grpc-js's errors are mostly a client's (a malformed header, a reset stream).
    error: (...args: unknown[]) => logger.warn({ source: "grpc-js" }, line(args)),
    info: (...args: unknown[]) => logger.info({ source: "grpc-js" }, line(args)),
    debug: (...args: unknown[]) => logger.debug({ source: "grpc-js" }, line(args)),
  });
}

/**
 * The text with a bearer token, or any other authorization value (to the next
 * quote, comma or semicolon), replaced.
 */
export function redactCredentials(text: string): string {
  return text
    .replace(/(bearer\s+)[^\s,;"']+/gi, "$1[redacted]")
    .replace(/(authorization["']?\s*[:=]\s*["']?)(?![\s"']*bearer\s)[^,;"'\n]+/gi, "$1[redacted]");
}
