import { traceLogFields } from "@shopmesh/telemetry";
import { type Logger, pino } from "pino";

/**
 * The process logger: JSON lines on stdout, level from LOG_LEVEL (default info),
 * with credentials redacted wherever they appear in a logged object, and the trace
 * and span ids of the active span on every line logged inside one.
 */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    mixin: traceLogFields,
    redact: {
      paths: ["*.authorization", "*.headers.authorization", "*.paymentToken", "*.payment_token", "*.password"],
      censor: "[redacted]",
    },
  });
}
