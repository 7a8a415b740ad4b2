/**
 * Counts a failing event's attempts: the deliveries whose handler failed in this process
 * for a reason of the event's own. Not the server's delivery count, which also counts
 * deliveries that say nothing of the event — handed back by replicas that did not know
 * its type (a rolling update), failed only because the database or another dependency
 * was unavailable, handed back by a stalled or stopping replica — in this replica or in
 * any other, and a replica cannot tell which of another's deliveries those were (counted
 * from its first failure, an event was parked after two failures of its own, three other
 * deliveries being another replica's outage). An event that fails in every replica in turn
 * has up to maxAttempts there in each (maxDeliveries bounds them all). Kept in memory (a
 * restart gives an event at most maxAttempts more) and bounded: the oldest entries go
 * first.
 */
export function createAttemptCounter(limit = 10_000) {
  const failures = new Map<string, number>();
  return {
    /** The attempts an event has had here, this failed delivery included. */
    failed(eventId: string): number {
      const attempts = (failures.get(eventId) ?? 0) + 1;
      failures.set(eventId, attempts);
      const oldest = failures.keys().next().value;
      if (failures.size > limit && oldest !== undefined) failures.delete(oldest);
      return attempts;
    },
    /** The event is done with here: applied, or dead-lettered. */
    forget(eventId: string): void {
      failures.delete(eventId);
    },
  };
}
