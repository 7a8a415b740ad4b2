import { ConnectError } from "@connectrpc/connect";
import { context, metrics, propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { recordSetter } from "./header-carrier.js";
import { durationBucketsMs } from "./metrics.js";
import { rpcAttributes, rpcStatusAttributes } from "./rpc-attributes.js";

const tracer = trace.getTracer("@shopmesh/telemetry");
const duration = metrics.getMeter("@shopmesh/telemetry").createHistogram("rpc.client.duration", {
  description: "Duration of RPCs made to other services, by method and status code",
  unit: "ms",
  advice: { explicitBucketBoundaries: durationBucketsMs },
});

/** A client call being traced. */
export interface TracedClientCall {
  /** `traceparent`/`tracestate` to send with the call. */
  readonly headers: Record<string, string>;
  /** Ends the span and records the duration; pass the error if the call failed. */
  end(error?: unknown): void;
}

/**
 * Starts a client span for a gRPC call as a child of the active span, and the
 * headers that carry it to the server, where the server span becomes its child.
 */
export function startClientCall(service: string, method: string, target: string): TracedClientCall {
  const attributes = { ...rpcAttributes("grpc", service, method), "server.address": target };
  const span = tracer.startSpan(`${service}/${method}`, { kind: SpanKind.CLIENT, attributes });
  const headers: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), headers, recordSetter);
  const started = performance.now();
  return {
    headers,
    end(error) {
      const coded = error === undefined ? undefined : ConnectError.from(error);
      const status = rpcStatusAttributes("grpc", coded?.code);
      span.setAttributes(status);
      if (coded) span.setStatus({ code: SpanStatusCode.ERROR, message: coded.rawMessage });
      span.end();
      duration.record(performance.now() - started, { ...rpcAttributes("grpc", service, method), ...status });
    },
  };
}
