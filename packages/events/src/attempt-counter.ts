/**
 * Counts a failing event's attempts from the first delivery whose handler failed in this
 * process, not from the server's delivery count: the deliveries before it were handed
 * back by replicas that did not know the event's type (a rolling update), or failed
 * only because the database was unavailable — they say nothing of the event, and must
 * not use up its retries. Deliveries after it count whichever replica made them. Kept in
 * memory (a restart gives an event at most maxAttempts more) and bounded: the oldest
 * entries go first.
 */
export function createAttemptCounter(limit = 10_000) {
  const firstFailure = new Map<string, number>();
  return {
    /** The attempts an event has had, this failed delivery included. */
    failed(eventId: string, deliveryCount: number): number {
      let first = firstFailure.get(eventId);
      if (first === undefined) {
        first = deliveryCount;
        firstFailure.set(eventId, first);
        const oldest = firstFailure.keys().next().value;
        if (firstFailure.size > limit && oldest !== undefined) firstFailure.delete(oldest);
      }
      return deliveryCount - first + 1;
    },
    /**
     * A failed delivery that says nothing of the event (its database was unavailable):
     * after the event's first counted failure, it must not count either.
     */
    notCounted(eventId: string): void {
      const first = firstFailure.get(eventId);
      if (first !== undefined) firstFailure.set(eventId, first + 1);
    },
    /** The event is done with here: applied, or dead-lettered. */
    forget(eventId: string): void {
      firstFailure.delete(eventId);
    },
  };
}
