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
 * their inputs and answers with one output per input, in their order. Under load this
 * turns a round trip per request into one per handful of requests; an idle caller is
 * served at once. A run that throws fails all its callers. Each run executes in the
 * trace context of the first caller it serves.
 *
 * ```ts
 * const lookup = coalesce(async (skuLists: readonly string[][]) => {
 *   const found = await findProducts(db, skuLists.flat());
 *   return skuLists.map(() => found);
 * });
 * const products = await lookup(["SKU-1", "SKU-2"]);
 * ```
 */
export function coalesce<Input, Output>(
  run: (inputs: readonly Input[]) => Promise<readonly Output[]>,
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
        const outputs = await first(() => run(batch.map(({ input }) => input)));
        if (outputs.length !== batch.length)
          throw new Error(`coalesced run answered ${outputs.length} of ${batch.length}`);
        for (const [index, caller] of batch.entries()) caller.resolve(outputs[index] as Output);
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

/**
 * Runs inputs in waves in which no key repeats — a statement may change a row only
 * once — one wave after the other, answering in the order of the inputs. For a
 * coalesced run whose callers may name the same record.
 *
 * ```ts
 * const begin = coalesce((orderIds: readonly string[]) => inWaves(orderIds, (id) => id, (wave) => beginCharges(pool, wave)));
 * ```
 */
export async function inWaves<Input, Output>(
  inputs: readonly Input[],
  keyOf: (input: Input) => string,
  runWave: (wave: readonly Input[]) => Promise<readonly Output[]>,
): Promise<Output[]> {
  const outputs: Output[] = new Array(inputs.length);
  let pending = inputs.map((input, index) => ({ input, index }));
  while (pending.length > 0) {
    const keys = new Set<string>();
    const wave: typeof pending = [];
    const later: typeof pending = [];
    for (const item of pending) {
      const key = keyOf(item.input);
      if (keys.has(key)) later.push(item);
      else {
        keys.add(key);
        wave.push(item);
      }
    }
    const answered = await runWave(wave.map(({ input }) => input));
    wave.forEach(({ index }, position) => {
      outputs[index] = answered[position] as Output;
    });
    pending = later;
  }
  return outputs;
}
