/**
 * The ids of outbox rows published and not yet marked, taken a bounded number at a
 * time. While marking fails (the database unavailable) they pile up — at 500 rows a
 * second, 150,000 in five minutes — and neither one statement nor one call's
 * arguments (a spread into push() overflows the stack past ~120,000) may take them all.
 */
export interface MarkQueue {
  /** Ids just published, to mark. */
  add(ids: readonly string[]): void;
  /** The oldest ids, at most the queue's limit, for one statement. */
  take(): string[];
  /** Ids taken whose statement failed: marked first next time. */
  putBack(ids: readonly string[]): void;
  readonly size: number;
}

export function createMarkQueue(limit: number): MarkQueue {
  let ids: string[] = [];
  return {
    add(published) {
      for (const id of published) ids.push(id);
    },
    take() {
      const taken = ids.slice(0, limit);
      ids = ids.slice(taken.length);
      return taken;
    },
    putBack(taken) {
      ids = taken.concat(ids);
    },
    get size() {
      return ids.length;
    },
  };
}
