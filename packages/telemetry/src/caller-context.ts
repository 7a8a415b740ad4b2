import { type Context, context, ROOT_CONTEXT, TraceFlags, trace } from "@opentelemetry/api";

/** The trace context a call was made in, kept for work done later on its behalf. */
export type CallerContext = Context;

/** Captures the active trace context, for work done later on the caller's behalf. */
export function captureCallerContext(): CallerContext {
  return context.active();
}

/**
 * Runs work done for several callers at once (one query for many requests) in the
 * context of the first caller whose trace is sampled, else of the first — so the
 * work's spans (its SQL) belong to a call's trace, one that is recorded when any is,
 * and not to whichever call happened to start the loop. The chosen caller's span and
 * every other recorded caller's span are linked both ways, so each of those traces
 * points at the one that shows the shared work.
 */
export function runForCallers<T>(callers: readonly CallerContext[], work: () => T): T {
  const chosen = callers.find(isSampled) ?? callers[0] ?? context.active();
  const span = trace.getSpan(chosen);
  if (span?.isRecording()) {
    for (const caller of callers) {
      const other = trace.getSpan(caller);
      if (other === undefined || other === span || !other.isRecording()) continue;
      other.addLink({ context: span.spanContext() });
      span.addLink({ context: other.spanContext() });
    }
  }
  return context.with(chosen, work);
}

function isSampled(caller: Context): boolean {
  return ((trace.getSpanContext(caller)?.traceFlags ?? TraceFlags.NONE) & TraceFlags.SAMPLED) !== 0;
}

/**
 * Runs work that serves the whole process, not the call that happened to start it
 * (a shared connection, its timers and callbacks), outside any trace: its spans and
 * log lines then belong to no request, rather than all to the first one.
 */
export function outsideAnyTrace<T>(work: () => T): T {
  return context.with(ROOT_CONTEXT, work);
}
