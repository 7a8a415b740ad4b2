import { JetStreamApiError } from "@nats-io/jetstream";

/**
 * Runs a declaration of streams or durables again after a failure, a few times with
 * growing pauses, before the start gives up. On a JetStream cluster (nats-server 2.9)
 * requests go unanswered for seconds while the nodes elect leaders — a node crashed, or
 * the meta leader leaves a stream's create unanswered while another replica's create of
 * it is in flight — and refused while too few nodes are up to place the replicas: a
 * replica starting then would crash-loop, as those of a first install did together.
 * So the declaration must be one that is safe to run again from the start.
 */
export async function retryDeclaration<T>(declare: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await declare();
    } catch (error) {
      if (attempt === declareAttempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}

/** With the pauses between them (3.75 s) and each request's timeout, up to ~35 s in all. */
const declareAttempts = 6;

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
