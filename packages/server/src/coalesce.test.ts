import { describe, expect, it } from "vitest";
import { batchPerTick, coalesce, inWaves } from "./coalesce.js";

/** A run whose completion the test controls, recording the inputs of each run. */
function controlledRun() {
  const runs: string[][] = [];
  const finishers: ((fail?: Error) => void)[] = [];
  const run = (inputs: readonly string[]) =>
    new Promise<string[]>((resolve, reject) => {
      runs.push([...inputs]);
      const number = runs.length;
      finishers.push((fail) => (fail ? reject(fail) : resolve(inputs.map((input) => `run ${number}: ${input}`))));
    });
  const finish = (index: number, fail?: Error) => finishers[index]?.(fail);
  return { run, runs, finish };
}

describe("coalesce", () => {
  it("serves an idle caller at once and the callers that came meanwhile with one next run, each its own output", async () => {
    const { run, runs, finish } = controlledRun();
    const call = coalesce(run);
    const first = call("a");
    const second = call("b");
    const third = call("c");
    await Promise.resolve();
    expect(runs).toEqual([["a"]]);
    finish(0);
    expect(await first).toBe("run 1: a");
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toEqual([["a"], ["b", "c"]]);
    finish(1);
    expect(await Promise.all([second, third])).toEqual(["run 2: b", "run 2: c"]);
  });

  it("fails only the callers of a failed run; the next run serves the others", async () => {
    const { run, runs, finish } = controlledRun();
    const call = coalesce(run);
    const failed = call("a");
    const later = call("b");
    finish(0, new Error("down"));
    await expect(failed).rejects.toThrow("down");
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toEqual([["a"], ["b"]]);
    finish(1);
    expect(await later).toBe("run 2: b");
  });
});

describe("batchPerTick", () => {
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

  it("serves the calls of one turn with one run, and a later turn's at once, without waiting for it", async () => {
    const { run, runs, finish } = controlledRun();
    const call = batchPerTick(run);
    const first = [call("a"), call("b")];
    await nextTurn();
    const second = call("c");
    await nextTurn();
    expect(runs).toEqual([["a", "b"], ["c"]]);
    finish(1);
    expect(await second).toBe("run 2: c");
    finish(0);
    expect(await Promise.all(first)).toEqual(["run 1: a", "run 1: b"]);
  });

  it("repeats a failed run one input at a time, so that only the input that fails it fails its caller", async () => {
    const runs: string[][] = [];
    const call = batchPerTick(async (inputs: readonly string[]) => {
      runs.push([...inputs]);
      if (inputs.includes("bad")) throw new Error(`run of ${inputs.length} refused`);
      return inputs.map((input) => input.toUpperCase());
    });
    const answers = await Promise.allSettled([call("a"), call("bad"), call("b")]);
    expect(runs).toEqual([["a", "bad", "b"], ["a"], ["bad"], ["b"]]);
    expect(answers).toEqual([
      { status: "fulfilled", value: "A" },
      { status: "rejected", reason: new Error("run of 1 refused") },
      { status: "fulfilled", value: "B" },
    ]);
  });
});

describe("inWaves", () => {
  it("runs repeated keys in later waves and answers in input order", async () => {
    const waves: string[][] = [];
    const outputs = await inWaves(
      ["a1", "b1", "a2", "c1", "a3", "b2"],
      (input) => input.charAt(0),
      async (wave) => {
        waves.push([...wave]);
        return wave.map((input) => input.toUpperCase());
      },
    );
    expect(waves).toEqual([["a1", "b1", "c1"], ["a2", "b2"], ["a3"]]);
    expect(outputs).toEqual(["A1", "B1", "A2", "C1", "A3", "B2"]);
  });
});
