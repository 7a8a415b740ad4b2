/** Runs tasks with bounded concurrency, never two tasks of the same key at once. */
export interface KeyedQueue {
  /** Resolves when the task has started (backpressure), not when it finishes. */
  push(key: string, task: () => Promise<void>): Promise<void>;
  /** Resolves when every pushed task has finished. */
  idle(): Promise<void>;
}

/** Creates a queue that runs at most `concurrency` tasks at a time. */
export function createKeyedQueue(concurrency: number): KeyedQueue {
  let running = 0;
  const slotWaiters: (() => void)[] = [];
  const tails = new Map<string, Promise<void>>();
  const idleWaiters: (() => void)[] = [];

  const release = () => {
    running--;
    slotWaiters.shift()?.();
    if (running === 0 && tails.size === 0) for (const resolve of idleWaiters.splice(0)) resolve();
  };

  return {
    async push(key, task) {
      while (running >= concurrency) await new Promise<void>((resolve) => slotWaiters.push(resolve));
      running++;
      const previous = tails.get(key) ?? Promise.resolve();
      const current = previous.then(task).catch(() => undefined);
      tails.set(key, current);
      void current.then(() => {
        if (tails.get(key) === current) tails.delete(key);
        release();
      });
    },
    idle() {
      if (running === 0 && tails.size === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}
