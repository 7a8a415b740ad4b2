import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  type Context,
  context,
  metrics,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { cancelledAtDeadline, requestTimeoutMs } from "./deadline.js";
import { headersGetter } from "./header-carrier.js";
import { durationBucketsMs } from "./metrics.js";
import { type RpcSystem, rpcAttributes, rpcStatusAttributes } from "./rpc-attributes.js";

const tracer = trace.getTracer("@shopmesh/telemetry");
const meter = metrics.getMeter("@shopmesh/telemetry");
const duration = meter.createHistogram("rpc.server.duration", {
  description: "Duration of RPCs served, by method and status code",
  unit: "ms",
  advice: { explicitBucketBoundaries: durationBucketsMs },
});

/**
 * A server span and a duration measurement for every RPC, on both listeners: the
 * span continues the caller's trace from `traceparent`/`tracestate` (gRPC metadata,
 * gRPC-Web and Connect headers alike), and the handler runs inside it, so SQL, events
 * written and log lines belong to the call. A server stream's span ends with the
 * stream. Put it outermost, so the status is the one the caller sees — for a call
 * cancelled or past its deadline, that of its aborted signal (CANCELLED,
 * DEADLINE_EXCEEDED), even where the handler then returns normally; a cancellation
 * that came at the call's deadline is DEADLINE_EXCEEDED, as its client saw it.
 */
export function createRpcTelemetryInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (req.service.typeName === healthService) return next(req);
    const system = rpcSystemOf(req.header, req.url);
    const attributes = rpcAttributes(system, req.service.typeName, req.method.name);
    const parent = propagation.extract(ROOT_CONTEXT, req.header, headersGetter);
    const span = tracer.startSpan(
      `${req.service.typeName}/${req.method.name}`,
      { kind: SpanKind.SERVER, attributes },
      parent,
    );
    const active = trace.setSpan(parent, span);
    const started = performance.now();
    // When a call with a deadline was cancelled: a handler may wind down well after.
    const timeoutMs = requestTimeoutMs(req.header);
    let abortedAt = req.signal.aborted ? started : undefined;
    if (timeoutMs !== undefined && abortedAt === undefined) {
      req.signal.addEventListener(
        "abort",
        () => {
          abortedAt = performance.now();
        },
        { once: true },
      );
    }
    const finish = (error?: unknown) => {
      // A call its client cancelled, or whose deadline passed, ended for the caller with
      // that — whatever the handler did next (a watch returns normally when its signal
      // aborts): the signal's reason is the status the caller saw.
      const outcome = req.signal.aborted ? req.signal.reason : error;
      const coded = outcome === undefined ? undefined : ConnectError.from(outcome);
      const timedOut =
        coded?.code === Code.Canceled &&
        timeoutMs !== undefined &&
        cancelledAtDeadline(abortedAt ?? performance.now(), started + timeoutMs);
      const failed = timedOut ? Code.DeadlineExceeded : coded?.code;
      const status = rpcStatusAttributes(system, failed);
      span.setAttributes(status);
      if (coded && failed !== undefined && isServerFault(failed)) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: coded.rawMessage });
      }
      span.end();
      duration.record(performance.now() - started, { ...attributes, ...status });
    };
    try {
      const res = await context.with(active, () => next(req));
      if (!res.stream) {
        finish();
        return res;
      }
      return { ...res, message: withinSpan(active, res.message, finish) };
    } catch (error) {
      finish(error);
      throw error;
    }
  };
}

/** Probes call it every few seconds: spans of them would bury the checkouts. */
const healthService = "grpc.health.v1.Health";

/** Codes that mean the server failed, not that the caller asked for something wrong. */
function isServerFault(code: Code): boolean {
  return [
    Code.Unknown,
    Code.Internal,
    Code.Unavailable,
    Code.DataLoss,
    Code.DeadlineExceeded,
    Code.Unimplemented,
  ].includes(code);
}

function rpcSystemOf(header: Headers, url: string): RpcSystem {
  const contentType = header.get("content-type") ?? "";
  return contentType.startsWith("application/grpc") || url.startsWith("/") ? "grpc" : "connect_rpc";
}

/** Runs each step of a stream inside the call's context and finishes the span when it ends. */
async function* withinSpan<T>(active: Context, messages: AsyncIterable<T>, finish: (error?: unknown) => void) {
  const iterator = messages[Symbol.asyncIterator]();
  let failed = false;
  try {
    while (true) {
      const step = await context.with(active, () => iterator.next());
      if (step.done) return;
      yield step.value;
    }
  } catch (error) {
    failed = true;
    finish(error);
    throw error;
  } finally {
    if (!failed) finish();
    await iterator.return?.();
  }
}
