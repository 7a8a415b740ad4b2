import { JetStreamApiError, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { useTestNats } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";
import { allEvents } from "../src/all-events.js";
import { createEventCatalog } from "../src/event-catalog.js";
import { ensureStreams } from "../src/streams.js";

const nats = useTestNats("stream declaration");

/** The manager, counting the stream creations it is asked for. */
async function countingCreates(): Promise<{ jsm: JetStreamManager; creates: () => number }> {
  const jsm = await jetstreamManager(await nats.connect());
  let creates = 0;
  const add = jsm.streams.add.bind(jsm.streams);
  jsm.streams.add = (config) => {
    creates++;
    return add(config);
  };
  return { jsm, creates: () => creates };
}

describe("declaring the streams", () => {
  it("fails at once, with the server's reason, when the server refuses the configuration itself", async () => {
    // Three replicas on a single server (STREAM_REPLICAS=3 against a NATS that is not
    // a cluster): no retry changes that answer, so the start reports it straight away.
    const { jsm, creates } = await countingCreates();
    const declaring = ensureStreams(jsm, createEventCatalog(allEvents, `${nats.prefix}_R`), { replicas: 3 });
    await expect(declaring).rejects.toBeInstanceOf(JetStreamApiError);
    await expect(declaring).rejects.toThrow(/replicas > 1 not supported in non-clustered mode/);
    expect(creates()).toBe(1);
  });

  it("fails at once when another stream already holds the subjects", async () => {
    const catalog = createEventCatalog(allEvents, `${nats.prefix}_O`);
    const { jsm, creates } = await countingCreates();
    const [first] = catalog.streams();
    if (!first) throw new Error("the catalog has no streams");
    await jsm.streams.add({ name: `${nats.prefix}_SQUATTER`, subjects: [first.subjects] });
    const declaring = ensureStreams(jsm, catalog);
    await expect(declaring).rejects.toBeInstanceOf(JetStreamApiError);
    await expect(declaring).rejects.toThrow(/subjects overlap with an existing stream/);
    expect(creates()).toBe(2);
  });
});
