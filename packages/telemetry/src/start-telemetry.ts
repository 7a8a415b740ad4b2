import { setTimeout as delay } from "node:timers/promises";
import { createNoopMeter, trace } from "@opentelemetry/api";
import { PgInstrumentation } from "@opentelemetry/instrumentation-pg";
import { RuntimeNodeInstrumentation } from "@opentelemetry/instrumentation-runtime-node";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { NodeSDK } from "@opentelemetry/sdk-node";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import { observeProcess } from "./process-metrics.js";
import { tracesOff } from "./trace-exporters.js";

/** Who is reporting, before OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES override it. */
export interface TelemetryIdentity {
  readonly serviceName: string;
  readonly serviceVersion: string;
}

let sdk: NodeSDK | undefined;

/**
 * Starts the OpenTelemetry SDK, configured by the standard OTEL_* variables alone
 * (exporter, protocol, endpoint, sampler, resource attributes, OTEL_SDK_DISABLED).
 * Four defaults differ from the SDK's: metrics are served for Prometheus at
 * :9464/metrics (OTEL_METRICS_EXPORTER=prometheus; OTEL_EXPORTER_PROMETHEUS_PORT moves
 * it), logs stay on stdout as JSON lines rather than going over OTLP, only the W3C
 * trace context propagates (OTEL_PROPAGATORS=tracecontext, no baggage), and the SDK's
 * own warnings go to stderr (OTEL_LOG_LEVEL=warn).
 *
 * SQL spans come from the `pg` instrumentation and only inside a sampled operation
 * (an RPC, an event being processed): the outbox relay's polling is not traced. It
 * records no metrics (a meter that does nothing): its per-query histogram cost more CPU
 * than every other metric together (a statement's duration is in the sampled traces),
 * and its pool counters — three additions, each hashing its attributes, on every
 * checkout and return of a connection — cannot tell our pools apart (the runtime's
 * `shopmesh.db.pool.*` gauges do). A view dropping them still paid for the hashing.
 */
export async function startTelemetry(identity: TelemetryIdentity, env = process.env): Promise<void> {
  if (sdk) return;
  // Nothing at all: NodeSDK's constructor would still serve an empty /metrics, which
  // Prometheus would count as a target up.
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return;
  env.OTEL_METRICS_EXPORTER ??= "prometheus";
  // The SDK's warnings and errors on stderr: a misspelt exporter or a metrics port
  // already taken would otherwise leave a service without /metrics and no word why.
  env.OTEL_LOG_LEVEL ??= "warn";
  // W3C trace context only: with the baggage propagator, whatever `baggage` header a
  // public caller sends would be stored in the outbox rows of its checkout and ride
  // every event of the saga into the other services (up to 8 KiB a message).
  env.OTEL_PROPAGATORS ??= "tracecontext";
  const sqlSpans = sqlSpansWhenSampled(new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }));
  sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: identity.serviceName,
      [ATTR_SERVICE_VERSION]: identity.serviceVersion,
      "deployment.environment.name": env.DEPLOYMENT_ENVIRONMENT ?? "development",
    }),
    logRecordProcessors: [],
    // Traces "none" said as no span processor: the SDK then sets up no tracer provider,
    // as for "none", without warning on every start that it "will not be initialized"
    // (it is, for metrics).
    ...(tracesOff(env) ? { spanProcessors: [] } : {}),
    // The event-loop delay is sampled by a timer that wakes an idle loop at each sample:
    // every 10 ms by default, which costs an idle service ~7 ms of CPU a second here;
    // every 50 ms, ~1.8 ms — and still 300 samples between two 15 s scrapes. Node counts
    // the interval in every sample (an idle loop's delay reads ~50 ms): the runtime
    // dashboard (deploy/observability) subtracts 0.05 s, so keep the two in step.
    instrumentations: [sqlSpans, new RuntimeNodeInstrumentation({ monitoringPrecision: 50 })],
  });
  sdk.start();
  // After start: the SDK gives every instrumentation its meter provider as it starts.
  sqlSpans.setMeterProvider({ getMeter: () => createNoopMeter() });
  observeProcess();
  await settledResource(sdk);
}

/**
 * Waits for the resource's detected attributes (the host's id, read asynchronously)
 * to settle — a few milliseconds, before the service's own modules load. Until then,
 * and for ever if nothing awaited them (with traces off nothing else does), every
 * read of the resource — each /metrics scrape — logs "Accessing resource attributes
 * before async attributes settled". The SDK keeps the resource it detected in a
 * private field (pinned by the version in package.json, checked by register.test.ts).
 */
async function settledResource(started: NodeSDK): Promise<void> {
  const resource = (started as unknown as { _resource?: { waitForAsyncAttributes?(): Promise<void> } })._resource;
  await resource?.waitForAsyncAttributes?.();
}

type Query = (this: unknown, ...args: unknown[]) => unknown;

/**
 * The `pg` instrumentation, making SQL spans only in traces that are kept. As shipped
 * (`requireParentSpan`) it builds a span, its attributes and a wrapped callback for
 * every query under any span, recording or not — with 10% sampling, nine times in
 * ten for nothing. It has no option for that, so its query patch (a private method,
 * pinned by the version in package.json and checked by the e2e tests' SQL spans) is
 * wrapped: a query whose active span does not record goes straight to `pg`. So does a
 * transaction's BEGIN: `withTx` sends it with the first statement without waiting, so
 * its span would time nothing — and there is one per transaction.
 */
function sqlSpansWhenSampled(instrumentation: PgInstrumentation): PgInstrumentation {
  // biome-ignore lint/complexity/useLiteralKeys: the method is private; TypeScript allows only this access.
  const queryPatch = instrumentation["_getClientQueryPatch"] as () => (original: Query) => Query;
  // biome-ignore lint/complexity/useLiteralKeys: as above.
  instrumentation["_getClientQueryPatch"] = () => (original: Query) => {
    const traced = queryPatch.call(instrumentation)(original);
    return function query(this: unknown, ...args: unknown[]) {
      const recorded = args[0] !== "BEGIN" && trace.getActiveSpan()?.isRecording();
      return recorded ? traced.apply(this, args) : original.apply(this, args);
    };
  };
  return instrumentation;
}

/**
 * Flushes spans and metrics still buffered and stops the SDK (call last at shutdown),
 * waiting {@link lastExportMs} at most: a collector that accepts connections and never
 * answers would hold the export for the exporter's timeouts and retries (~30 s), past
 * the platform's grace. What is not exported by then is lost, as it would be anyway.
 */
export async function shutdownTelemetry(): Promise<void> {
  const running = sdk;
  sdk = undefined;
  if (!running) return;
  await Promise.race([running.shutdown(), delay(lastExportMs, undefined, { ref: false })]);
}

/** How long the shutdown waits for the last export (deploy/src/shutdown-budget.ts counts it). */
const lastExportMs = 2_000;
