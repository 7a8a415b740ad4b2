import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { OrderPlacedSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { testInfrastructure } from "@shopmesh/testing";
import { beforeEach, describe, expect, it } from "vitest";
import { useEventsTestbed } from "./testbed.js";

const bed = useEventsTestbed("operator cli", "SELECT 1");
const root = fileURLToPath(new URL("../../..", import.meta.url));

/** What a command printed, and how it ended: its exit code, or the signal that ended it. */
interface Ran {
  readonly exit: number | string;
  readonly out: string;
  readonly err: string;
}

/**
 * Runs one of the package's commands as an operator would. A command still running
 * after 20 s (it takes about one) is ended, and the test fails on its signal before
 * its own timeout.
 */
function run(command: string, ...args: string[]): Promise<Ran> {
  return runWith({}, command, ...args);
}

/** As run(), with more of the environment set. */
function runWith(env: Record<string, string>, command: string, ...args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["tools/tsx.mjs", `packages/events/src/cli/${command}.ts`, ...args],
      {
        cwd: root,
        timeout: 20_000,
        env: {
          ...process.env,
          DATABASE_URL: bed.db.url,
          NATS_URL: testInfrastructure().natsUrl,
          EVENT_NAMESPACE: bed.catalog.deadLetterStream.replace(/_DEADLETTER$/, ""),
          ...env,
        },
      },
      (error, out, err) => resolve({ exit: error ? (error.signal ?? Number(error.code)) : 0, out, err }),
    );
  });
}

/** Inserts `count` published outbox rows; answers their ids. */
async function outboxRows(count: number): Promise<bigint[]> {
  const { rows } = await bed.pool.query<{ id: string }>(
    `INSERT INTO outbox (event_id, subject, event_type, payload, published_at)
     SELECT gen_random_uuid(), $1, $2, '\\x', now() FROM generate_series(1, $3) RETURNING id`,
    [bed.catalog.route(OrderPlacedSchema).subject, OrderPlacedSchema.typeName, count],
  );
  return rows.map((row) => BigInt(row.id));
}

beforeEach(async () => {
  await bed.pool.query("TRUNCATE outbox");
});

describe("outbox:republish", () => {
  it("sends the rows of a range that reaches far past the last row, paging through the rows alone", async () => {
    const ids = await outboxRows(1_203);
    const ran = await run("republish-outbox", "--from", String(ids[0]), "--to", "9223372036854775807");
    expect(ran).toMatchObject({ exit: 0, out: expect.stringContaining("re-published 1203 outbox rows") });
    const stream = await bed.jsm.streams.info(bed.catalog.streamName("ORDERS"));
    expect(stream.state.messages).toBe(1_203);
  });

  it("says in a sentence which row failed, why, and how many others went", async () => {
    const [first = 0n] = await outboxRows(3);
    await bed.pool.query("UPDATE outbox SET subject = 'nowhere.at-all' WHERE id = $1", [String(first)]);
    const ran = await run("republish-outbox", "--from", String(first), "--to", String(first + 2n));
    expect(ran.exit).toBe(1);
    expect(ran.err).toContain(`outbox row ${first} was not re-published: no stream takes nowhere.at-all`);
    expect(ran.err).toContain(
      `2 other row(s) of the range were; once the cause is fixed, run again with --from ${first}`,
    );
    expect(ran.err).not.toMatch(/\n\s+at /);
  });

  it.each([
    [["--from", "10", "--to", "5"], "--from (10) is after --to (5)"],
    [["--from", "1", "--to", "9223372036854775808"], "--to is beyond the largest outbox id"],
    [["--from", "x1", "--to", "5"], "--from must be an outbox id"],
    [["--form", "1", "--to", "5"], "Unknown option '--form'"],
  ])("refuses %j with a sentence, the usage and exit 2", async (args, why) => {
    const ran = await run("republish-outbox", ...args);
    expect(ran.exit).toBe(2);
    expect(ran.err).toContain(why);
    expect(ran.err).toContain("usage:");
    expect(ran.err).not.toMatch(/\n\s+at /);
  });
});

describe("deadletters", () => {
  it("refuses an unknown option with a sentence, the usage and exit 2", async () => {
    const ran = await run("dead-letters", "replay", "--sequence", "3");
    expect(ran.exit).toBe(2);
    expect(ran.err).toContain("Unknown option '--sequence'");
    expect(ran.err).toContain("usage:");
    expect(ran.err).not.toMatch(/\n\s+at /);
  });

  it.each([["1e3"], ["0x10"], ["1.0"], ["0"], ["-2"], ["9007199254740993"]])(
    "refuses --seq %s, naming it, with the usage and exit 2 (not the letter a looser reading would pick)",
    async (seq) => {
      const ran = await run("dead-letters", "discard", `--seq=${seq}`);
      expect(ran.exit).toBe(2);
      expect(ran.err).toContain(`--seq must be a dead letter's stream sequence, a whole number from 1: "${seq}"`);
      expect(ran.err).toContain("usage:");
    },
  );

  it.each([
    [["discard", "--seq", "1", "--consumer", "payment"]],
    [["replay", "--seq", "1", "--consumer", "payment"]],
    [["list", "--seq", "1"]],
  ])("refuses %j (a filter beside named letters would be ignored) with the usage and exit 2", async (args) => {
    const ran = await run("dead-letters", ...args);
    expect(ran.exit).toBe(2);
    expect(ran.err).toContain("usage:");
  });

  it("says so when replay --all finds nothing for the consumer named (a typo, perhaps)", async () => {
    const ran = await run("dead-letters", "replay", "--all", "--consumer", "paymnet");
    expect(ran).toMatchObject({ exit: 0, out: expect.stringContaining("no dead letters of consumer paymnet") });
  });

  it("leaves the credentials in NATS_URL out of what it says when the namespace has no dead-letter stream", async () => {
    const reachable = new URL(testInfrastructure().natsUrl.split(",")[0] ?? "");
    reachable.username = "admin";
    reachable.password = "s3cret";
    const ran = await runWith({ NATS_URL: reachable.href, EVENT_NAMESPACE: "NO_SUCH_MESH" }, "dead-letters", "list");
    expect(ran.exit).toBe(1);
    expect(ran.err).toContain("no stream NO_SUCH_MESH_DEADLETTER");
    expect(ran.err).not.toContain("s3cret");
  });
});

describe("either command, when NATS cannot be reached", () => {
  it("says where it looked, in a sentence, and exits 1", async () => {
    const nowhere = "nats://127.0.0.1:1";
    for (const command of [
      ["dead-letters", "list"],
      ["republish-outbox", "--from", "1", "--to", "2"],
    ]) {
      const ran = await runWith({ NATS_URL: nowhere }, ...(command as [string, ...string[]]));
      expect(ran.exit, command[0]).toBe(1);
      expect(ran.err).toContain(`cannot reach NATS at ${nowhere}`);
      expect(ran.err).not.toMatch(/\n\s+at /);
    }
  });

  it("leaves the credentials in NATS_URL out of what it says", async () => {
    const ran = await runWith({ NATS_URL: "nats://admin:s3cret@127.0.0.1:1" }, "dead-letters", "list");
    expect(ran.exit).toBe(1);
    expect(ran.err).toContain("cannot reach NATS at nats://127.0.0.1:1");
    expect(ran.err).not.toContain("s3cret");
  });
});
