import { type Logger, pino } from "pino";

/**
 * The process logger: JSON lines on stdout, level from LOG_LEVEL (default info),
 * with credentials redacted wherever they appear in a logged object.
 */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    redact: {
      paths: ["*.authorization", "*.headers.authorization", "*.paymentToken", "*.payment_token", "*.password"],
      censor: "[redacted]",
    },
  });
}
