import { setTimeout as delay } from "node:timers/promises";
import { JetStreamApiError } from "@nats-io/jetstream";

/**
 * Runs a declaration of streams or durables again after a failure, with growing pauses,
 * for up to `withinMs` (35 s) before the start gives up. On a JetStream cluster
 * (nats-server 2.9) requests go unanswered for seconds while the nodes elect leaders — a
 * node crashed, or the meta leader leaves a stream's create unanswered while another
 * replica's create of it is in flight — and are refused at once while too few nodes are
 * up to place the replicas (a first install whose nodes start seconds apart): a replica
 * starting then would crash-loop, as those of a first install did together. A budget of
 * time, not of attempts: six quick refusals used up the attempts within 4 s, and one
 * replica of three failed its start (found by a review, on a cluster whose nodes started
 * 6 s apart). So the declaration must be one that is safe to run again from the start.
 */
export async function retryDeclaration<T>(
  declare: () => Promise<T>,
  {
    withinMs = declareWithinMs,
    firstPauseMs = 250,
    signal,
  }: {
    withinMs?: number;
    firstPauseMs?: number;
    /** Ends the retries (with its reason) for a caller that stops: none is attempted after it. */
    signal?: AbortSignal;
  } = {},
): Promise<T> {
  const giveUpAt = performance.now() + withinMs;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await declare();
    } catch (error) {
      const pauseMs = Math.min(firstPauseMs * attempt, longestPauseMs);
      if (isRefusedConfiguration(error) || performance.now() + pauseMs >= giveUpAt) throw error;
      // Aborted in the pause: the signal's reason, not the timer's AbortError.
      await delay(pauseMs, undefined, { signal }).catch(() => signal?.throwIfAborted());
    }
  }
}

/** Well inside the services' start-up probe (120 s), which covers several declarations. */
const declareWithinMs = 35_000;
const longestPauseMs = 2_000;

/**
 * JetStream's refusals of the configuration itself (nats-server's errors.json), which no
 * retry changes: the start fails at once with the server's reason. Others that also come
 * as "bad request" can pass (no peers for placement while a cluster's nodes come up; a
 * name in use while another replica's create of it lands), so they are retried.
 */
const refusedConfiguration = new Set([
  10003, // bad request
  10025, // invalid JSON
  10026, // maximum consumers limit reached
  10027, // maximum number of streams reached
  10052, // invalid stream configuration
  10061, // replicas configuration can not be updated
  10065, // subjects overlap with an existing stream
  10074, // replicas > 1 not supported in non-clustered mode
  10121, // consumer max ack pending exceeds system limit
]);

function isRefusedConfiguration(error: unknown): boolean {
  return error instanceof JetStreamApiError && refusedConfiguration.has(error.code);
}

/**
 * A lookup's answer, or undefined when JetStream says there is no such thing (`notFound`,
 * its API error code). Any other failure (a request unanswered during an election) is
 * thrown: taken for absence, it led to a create, which failed the same way or met the
 * existing one.
 */
export function unlessNotFound<T>(lookup: Promise<T>, notFound: number): Promise<T | undefined> {
  return lookup.catch((error: unknown) => {
    if (error instanceof JetStreamApiError && error.code === notFound) return undefined;
    throw error;
  });
}
