import { isSpanContextValid, trace } from "@opentelemetry/api";

/**
 * The trace and span ids of the active span, for a log line (a pino `mixin`): a line
 * logged while handling a request or an event can be found from its trace, and back.
 */
export function traceLogFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const spanContext = span.spanContext();
  return isSpanContextValid(spanContext) ? { trace_id: spanContext.traceId, span_id: spanContext.spanId } : {};
}

/** Adds attributes a person searching traces needs (order id, outcome) to the active span. */
export function annotateActiveSpan(attributes: Record<string, string | number | boolean>): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}
