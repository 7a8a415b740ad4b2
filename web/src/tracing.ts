import { type ContextValues, createContextKey, createContextValues, type Interceptor } from "@connectrpc/connect";
import { type Context, context, type Span, SpanStatusCode, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { FetchInstrumentation } from "@opentelemetry/instrumentation-fetch";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TraceIdRatioBasedSampler, WebTracerProvider } from "@opentelemetry/sdk-trace-web";
import type { StorefrontConfig } from "./config.js";

/**
 * Starts browser tracing before any client exists, when `otlpTracesUrl` is configured:
 * a web tracer provider sampling `tracesSampleRatio` of user actions, exporting over
 * OTLP/HTTP, with the W3C trace-context propagator, and fetch instrumentation that
 * adds `traceparent` (and `tracestate`) to calls to the order and inventory services —
 * and only to them. Without an endpoint nothing is started: a browser that marked its
 * calls sampled would have the services record every checkout under a parent span
 * nobody exports, whatever their own sampler's ratio.
 */
export function startTracing(config: StorefrontConfig): void {
  if (!config.otlpTracesUrl) return;
  const otlpUrl = new URL(config.otlpTracesUrl, window.location.href).href;
  const provider = new WebTracerProvider({
    resource: resourceFromAttributes({ "service.name": "storefront" }),
    sampler: new TraceIdRatioBasedSampler(config.tracesSampleRatio),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: otlpUrl }), { scheduledDelayMillis: 1000 })],
  });
  provider.register();
  const origins = [config.orderUrl, config.catalogUrl].map((url) => new URL(url, window.location.href).origin);
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new FetchInstrumentation({
        propagateTraceHeaderCorsUrls: origins.map((origin) => new RegExp(`^${escapeRegExp(origin)}/`)),
        ignoreUrls: [otlpUrl],
      }),
    ],
  });
}

const parentKey = createContextKey<Context | undefined>(undefined, { description: "trace parent" });

/**
 * Makes the fetch of an RPC a child of the user action that caused it: connect-web
 * awaits before it reaches fetch, which loses the browser's implicit context, so the
 * action's context rides along as a Connect context value and is restored right
 * around the fetch. Put it last among a transport's interceptors.
 */
export const traceParentInterceptor: Interceptor = (next) => (req) => {
  const parent = req.contextValues.get(parentKey);
  return parent ? context.with(parent, () => next(req)) : next(req);
};

/**
 * Runs a user action (a click) as a span; the RPCs it makes through `contextValues`
 * become its children, so a checkout's trace starts in the browser.
 *
 * ```ts
 * await traced("checkout", (values) => orders.placeOrder(request, { contextValues: values }));
 * ```
 */
export function traced<T>(name: string, action: (contextValues: ContextValues) => Promise<T>): Promise<T> {
  return trace.getTracer("storefront").startActiveSpan(name, async (span: Span) => {
    try {
      return await action(withParent(context.active()));
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

function withParent(parent: Context): ContextValues {
  const values = createContextValues();
  values.set(parentKey, parent);
  return values;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
