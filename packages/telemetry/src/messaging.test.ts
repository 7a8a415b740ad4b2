import { context, ROOT_CONTEXT, TraceFlags, trace } from "@opentelemetry/api";
import { useInMemoryTracing } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";
import { captureCallerContext, outsideAnyTrace, runForCallers } from "./caller-context.js";
import { startProcess, startPublish, startSharedWork, traceContextHeaders } from "./messaging.js";

const exporter = useInMemoryTracing();

/** An event as the relay would publish it, written inside a trace of its own (sampled, or not). */
function published(orderId: string, sampled = true) {
  const writer = sampled
    ? trace.getTracer("test").startSpan("PlaceOrder")
    : trace.wrapSpanContext({
        traceId: "0af7651916cd43dd8448eb211c80319c",
        spanId: "b7ad6b7169203331",
        traceFlags: TraceFlags.NONE,
      });
  const rowHeaders = context.with(trace.setSpan(ROOT_CONTEXT, writer), () => traceContextHeaders(orderId));
  writer.end();
  const route = { subject: "orders.placed", messageId: orderId, eventType: "OrderPlaced", orderId };
  const publish = startPublish(route, rowHeaders, new Date());
  publish.end();
  return { traceId: writer.spanContext().traceId, headers: publish.headers };
}

function delivered(orderId: string, headers: Record<string, string>) {
  return startProcess({
    consumer: "inventory",
    subject: "orders.placed",
    messageId: orderId,
    eventType: "OrderPlaced",
    orderId,
    deliveryCount: 1,
    header: (name) => headers[name],
  });
}

describe("trace context across the outbox and JetStream", () => {
  it("makes the consumer span a child of the producer span, in the writer's trace", () => {
    const event = published("order-a");
    const process = delivered("order-a", event.headers);
    process.end("applied");
    const spans = exporter.getFinishedSpans();
    const producer = spans.find((span) => span.name === "publish orders.placed");
    const consumer = spans.find((span) => span.name === "process orders.placed");
    expect(consumer?.spanContext().traceId).toBe(event.traceId);
    expect(consumer?.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
  });

  it("gives events written by a shared batch the trace of the event about the same order", () => {
    const first = published("order-a");
    const second = published("order-b");
    const processes = [delivered("order-a", first.headers), delivered("order-b", second.headers)];
    const shared = startSharedWork("apply 2 events", processes);
    const written = context.with(shared.context, () => ({
      a: traceContextHeaders("order-a").traceparent,
      b: traceContextHeaders("order-b").traceparent,
      other: traceContextHeaders("order-c").traceparent,
    }));
    expect(written.a).toContain(first.traceId);
    expect(written.b).toContain(second.traceId);
    expect(written.b).toContain(processes[1]?.span.spanContext().spanId);
    expect(written.other).toContain(shared.span.spanContext().spanId);
  });
});

describe("a batch whose first event's trace is not sampled (most batches at 10 % sampling)", () => {
  it("records its shared work in the trace of a sampled event, linked from it, and links no unsampled event", () => {
    // In key order: order-a (not sampled) first, order-b (sampled), order-c (sampled).
    const processes = [
      delivered("order-a", published("order-a", false).headers),
      delivered("order-b", published("order-b").headers),
      delivered("order-c", published("order-c").headers),
    ];
    const shared = startSharedWork("apply 3 events", processes);
    // Its SQL spans are children of the active span, made only when it records (start-telemetry.ts).
    const sqlRecorded = context.with(shared.context, () => trace.getActiveSpan()?.isRecording());
    shared.span.end();
    for (const process of processes) process.end("applied");
    const spans = exporter.getFinishedSpans();
    const processOf = (orderId: string) =>
      spans.find((span) => span.name === "process orders.placed" && span.attributes["shopmesh.order.id"] === orderId);
    const apply = spans.find((span) => span.name === "apply 3 events");
    expect(sqlRecorded).toBe(true);
    expect(apply?.parentSpanContext?.spanId).toBe(processOf("order-b")?.spanContext().spanId);
    expect(apply?.links.map((link) => link.context.spanId)).toEqual([processOf("order-c")?.spanContext().spanId]);
    expect(processOf("order-c")?.links.map((link) => link.context.spanId)).toEqual([apply?.spanContext().spanId]);
  });
});

describe("work done later for callers", () => {
  it("runs in the trace context captured from the caller, not in the one active when it runs", async () => {
    const tracer = trace.getTracer("test");
    const caller = tracer.startSpan("caller");
    const other = tracer.startSpan("other");
    const captured = context.with(trace.setSpan(ROOT_CONTEXT, caller), () => captureCallerContext());
    const seen = await context.with(trace.setSpan(ROOT_CONTEXT, other), () =>
      runForCallers([captured], async () => {
        await Promise.resolve();
        return trace.getActiveSpan();
      }),
    );
    expect(seen?.spanContext().spanId).toBe(caller.spanContext().spanId);
    caller.end();
    other.end();
  });

  it("shared by several callers, runs in the first sampled caller's context, linked both ways to the other recorded ones", () => {
    const tracer = trace.getTracer("test");
    const unsampled = trace.wrapSpanContext({
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      traceFlags: TraceFlags.NONE,
    });
    const [first, second] = [tracer.startSpan("first sampled"), tracer.startSpan("second sampled")];
    const callers = [unsampled, first, second].map((span) =>
      context.with(trace.setSpan(ROOT_CONTEXT, span), () => captureCallerContext()),
    );
    const ranUnder = runForCallers(callers, () => trace.getActiveSpan()?.spanContext().spanId);
    first.end();
    second.end();

    expect(ranUnder).toBe(first.spanContext().spanId);
    const linksOf = (span: typeof first) =>
      exporter
        .getFinishedSpans()
        .find((finished) => finished.spanContext().spanId === span.spanContext().spanId)
        ?.links.map((link) => link.context.spanId);
    expect(linksOf(first)).toEqual([second.spanContext().spanId]);
    expect(linksOf(second)).toEqual([first.spanContext().spanId]);
  });
});

describe("work for the whole process", () => {
  it("runs outside the trace of the call that started it, timers and callbacks included", async () => {
    const call = trace.getTracer("test").startSpan("WatchOrder");
    const seen = await context.with(trace.setSpan(ROOT_CONTEXT, call), () => {
      expect(trace.getActiveSpan()).toBe(call);
      return outsideAnyTrace(
        () => new Promise<unknown>((resolve) => setTimeout(() => resolve(trace.getActiveSpan()), 0)),
      );
    });
    call.end();
    expect(seen).toBeUndefined();
  });
});
