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
