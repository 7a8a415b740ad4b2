import { type CallerContext, captureCallerContext, runForCallers } from "@shopmesh/telemetry";

interface Waiting<Input, Output> {
  readonly input: Input;
  readonly caller: CallerContext;
  resolve(output: Output): void;
  reject(error: unknown): void;
}

/** A run that answers with one output per input, in their order. */
type Run<Input, Output> = (inputs: readonly Input[]) => Promise<readonly Output[]>;

/**
 * Runs `run` one call at a time for many callers: callers that come while a run is in
 * flight wait for it and are then served together by the next run, which gets all
 * their inputs and answers with one output per input, in their order. Under load this
 * turns a round trip per request into one per handful of requests; an idle caller is
 * served at once. A run that throws fails all its callers. Each run executes in the
 * trace context of one of its callers (see runForCallers).
 *
 * ```ts
 * const lookup = coalesce(async (skuLists: readonly string[][]) => {
 *   const found = await findProducts(db, skuLists.flat());
 *   return skuLists.map(() => found);
 * });
 * const products = await lookup(["SKU-1", "SKU-2"]);
 * ```
 */
export function coalesce<Input, Output>(run: Run<Input, Output>): (input: Input) => Promise<Output> {
  let waiting: Waiting<Input, Output>[] = [];
  let running = false;
  const drain = async () => {
    running = true;
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      try {
        settle(batch, await runFor(run, batch));
      } catch (error) {
        for (const caller of batch) caller.reject(error);
      }
    }
    running = false;
  };
  return (input) =>
    new Promise((resolve, reject) => {
      waiting.push({ input, caller: captureCallerContext(), resolve, reject });
      if (!running) void drain();
    });
}

/**
 * Runs `run` once per turn of the event loop for the callers of that turn: calls made
 * together — the requests that one answer released, say — share one run, and runs of
 * different turns do not wait for each other (unlike {@link coalesce}, nothing is
 * held back while a run is in flight). A run that throws is repeated one input at a
 * time, so that an input the run cannot take fails only its own caller: `run` must be
 * all or nothing, such as one statement. Each run executes in the trace context of one
 * of its callers (see runForCallers).
 *
 * ```ts
 * const insert = batchPerTick((inserts: readonly OrderInsert[]) => insertOrders(pool, inserts));
 * const created = await insert({ order, placed });
 * ```
 */
export function batchPerTick<Input, Output>(run: Run<Input, Output>): (input: Input) => Promise<Output> {
  let gathering: Waiting<Input, Output>[] | undefined;
  const flush = async (batch: Waiting<Input, Output>[]) => {
    try {
      settle(batch, await runFor(run, batch));
    } catch (error) {
      if (batch.length === 1) batch[0]?.reject(error);
      else for (const caller of batch) void flush([caller]);
    }
  };
  return (input) =>
    new Promise((resolve, reject) => {
      if (gathering === undefined) {
        const batch: Waiting<Input, Output>[] = [];
        gathering = batch;
        setImmediate(() => {
          gathering = undefined;
          void flush(batch);
        });
      }
      gathering.push({ input, caller: captureCallerContext(), resolve, reject });
    });
}

/** Runs a batch in the trace context of its callers; throws what the run threw. */
async function runFor<Input, Output>(run: Run<Input, Output>, batch: readonly Waiting<Input, Output>[]) {
  const outputs = await runForCallers(
    batch.map(({ caller }) => caller),
    () => run(batch.map(({ input }) => input)),
  );
  if (outputs.length !== batch.length) throw new Error(`batched run answered ${outputs.length} of ${batch.length}`);
  return outputs;
}

/**
 * Hands each caller its output. Called right where the run's answer is awaited, so a
 * coalesced loop is idle again before any caller's code goes on.
 */
function settle<Input, Output>(batch: readonly Waiting<Input, Output>[], outputs: readonly Output[]) {
  for (const [index, caller] of batch.entries()) caller.resolve(outputs[index] as Output);
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
