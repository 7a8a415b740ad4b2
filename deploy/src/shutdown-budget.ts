/**
 * What a service's shutdown may take after SIGTERM, in seconds, at its settings (the
 * code's defaults where unset), for the platform's grace (Kubernetes'
 * terminationGracePeriodSeconds after the preStop sleep, Compose's stop_grace_period)
 * to cover: past it the process is killed, its unacknowledged events wait out the
 * 30 s ack wait and its last spans are lost.
 *
 * 1. RPCs drain for SHUTDOWN_GRACE_MS (default 10 s);
 * 2. the consumers apply what they hold for a third of their 30 s ack wait and hand
 *    the rest back (packages/events, consumer.ts);
 * 3. a batch already applying is finished, not cut: in payment, a charge's provider
 *    call and, for an order cancelled meanwhile, a refund's — PAYMENT_PROVIDER_TIMEOUT_MS
 *    (default 10 s) each;
 * 4. the relay publishes what it holds — over a network gone silent it waits for its
 *    publishes' 5 s timeout (the rows stay in the outbox, for another relay) — NATS
 *    drains, pools close, spans are exported. The consumers' subscriptions drain for at
 *    most 1 s (before step 2's hand-back) and the connection for 2 s, then are closed:
 *    a silent network would hold either until pings failed. The last span export is
 *    given 2 s (packages/telemetry, shutdownTelemetry).
 */
export function shutdownBudgetSeconds(service: string, env: Readonly<Record<string, string | undefined>>): number {
  const drain = Number(env.SHUTDOWN_GRACE_MS ?? 10_000) / 1000;
  const inFlight = service === "payment" ? (2 * Number(env.PAYMENT_PROVIDER_TIMEOUT_MS ?? 10_000)) / 1000 : 0;
  return drain + consumerHandBackSeconds + inFlight + closingSeconds;
}

/** A third of the consumers' 30 s ack wait. */
const consumerHandBackSeconds = 10;
/** NATS's drains (at most 1 + 2 s), the relay's last publishes (5 s), the pools and the last span export (2 s). */
const closingSeconds = 10;
