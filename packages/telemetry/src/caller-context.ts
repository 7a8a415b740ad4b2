import { context } from "@opentelemetry/api";

/** Runs work in the trace context that was active when it was captured. */
export type InCallerContext = <T>(work: () => T) => T;

/**
 * Captures the active trace context, for work done later on the caller's behalf: code
 * that gathers several callers' requests into one query runs it in its first caller's
 * context, so the query's span belongs to that call's trace and not to whichever call
 * happened to start the loop.
 */
export function captureCallerContext(): InCallerContext {
  const caller = context.active();
  return (work) => context.with(caller, work);
}
