import { context, propagation } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { parseConfig } from "./config.js";

// startTracing registers globals (the tracer provider, the propagator): the cases run
// in this order, the one that registers nothing first.
const place = { protocol: "https:", hostname: "shop.example.com", href: "https://shop.example.com/" };
(globalThis as { window?: unknown }).window = { location: place };
const { startTracing, traced } = await import("./tracing.js");

/** The `traceparent` the fetch instrumentation would send with each of `count` user actions. */
async function traceparents(count: number): Promise<string[]> {
  const sent: string[] = [];
  for (let n = 0; n < count; n++) {
    sent.push(
      await traced("checkout", async () => {
        const headers: Record<string, string> = {};
        propagation.inject(context.active(), headers);
        return headers.traceparent ?? "";
      }),
    );
  }
  return sent;
}

describe("browser tracing", () => {
  it("without an endpoint sends no traceparent: the services' sampler decides each checkout", async () => {
    startTracing(parseConfig({ otlpTracesUrl: "" }, place));
    expect(new Set(await traceparents(50))).toEqual(new Set([""]));
  });

  it("with an endpoint traces the configured share of user actions", async () => {
    startTracing(parseConfig({ otlpTracesUrl: "/v1/traces", tracesSampleRatio: 0.1 }, place));
    const sent = await traceparents(1_000);
    expect(sent.every((traceparent) => /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/.test(traceparent))).toBe(true);
    // A tenth of 1,000 by trace id: 100 expected, and 50 or 150 more than five standard deviations off.
    const sampled = sent.filter((traceparent) => traceparent.endsWith("-01")).length;
    expect(sampled).toBeGreaterThan(50);
    expect(sampled).toBeLessThan(150);
  });
});
