import { captureCallerContext, type InCallerContext } from "@shopmesh/telemetry";

interface Waiting<Input, Output> {
  readonly input: Input;
  readonly inCallerContext: InCallerContext;
  resolve(output: Output): void;
  reject(error: unknown): void;
}

/**
 * Runs `run` one call at a time for many callers: callers that come while a run is in
 * flight wait for it and are then served together by the next run, which gets all
 * their inputs and answers each of them with its one result. Under load this turns a
 * round trip per request into one per handful of requests; an idle caller is served
 * at once. Each run executes in the trace context of the first caller it serves.
 *
 * ```ts
 * const lookup = coalesce((skuLists: readonly string[][]) => findProducts(db, skuLists.flat()));
 * const products = await lookup(["SKU-1", "SKU-2"]);
 * ```
 */
export function coalesce<Input, Output>(
  run: (inputs: readonly Input[]) => Promise<Output>,
): (input: Input) => Promise<Output> {
  let waiting: Waiting<Input, Output>[] = [];
  let running = false;
  const drain = async () => {
    running = true;
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      const first = batch[0]?.inCallerContext ?? captureCallerContext();
      try {
        const output = await first(() => run(batch.map(({ input }) => input)));
        for (const caller of batch) caller.resolve(output);
      } catch (error) {
        for (const caller of batch) caller.reject(error);
      }
    }
    running = false;
  };
  return (input) =>
    new Promise((resolve, reject) => {
      waiting.push({ input, inCallerContext: captureCallerContext(), resolve, reject });
      if (!running) void drain();
    });
}
