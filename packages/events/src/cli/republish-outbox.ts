/**
 * Publishes a range of a service's outbox rows to JetStream again, for recovering
 * events a JetStream server lost (nats-server 2.9 flushes its store every two minutes).
 * From a checkout, and in every service's image with the pod's own DATABASE_URL and NATS_URL:
 *
 *   DATABASE_URL=postgres://…/shopmesh_order NATS_URL=nats://… \
 *     npm run outbox:republish -- --from 1200 --to 1450
 *   kubectl exec deploy/order -- /nodejs/bin/node outbox-republish.js --from 1200 --to 1450
 *
 * Inside JetStream's 2-minute duplicate window the copies are dropped; beyond it,
 * consumers' inboxes make them no-ops. `--to` may lie past the last row ("to the
 * end"): only the rows there are read. Prints how many rows were sent.
 */
import { parseArgs } from "node:util";
import { jetstream } from "@nats-io/jetstream";
import { createPool } from "@shopmesh/pg";
import { maxOutboxId, RepublishFailed, republishOutbox } from "../republish.js";
import { connectNats } from "./connect-nats.js";

const usage =
  "usage: DATABASE_URL=… [NATS_URL=…] outbox-republish --from <id> --to <id>\n" +
  "(npm run outbox:republish -- … in a checkout; node outbox-republish.js … in a service's image)";

/** The range asked for, or why it cannot be taken. */
function rangeOf(args: string[]): { from: bigint; to: bigint } | string {
  let values: { from?: string; to?: string };
  try {
    ({ values } = parseArgs({ args, options: { from: { type: "string" }, to: { type: "string" } } }));
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  const id = (name: "from" | "to") => {
    const value = values[name];
    if (value === undefined || !/^\d+$/.test(value)) return `--${name} must be an outbox id (a whole number)`;
    const parsed = BigInt(value);
    return parsed <= maxOutboxId ? parsed : `--${name} is beyond the largest outbox id (${maxOutboxId})`;
  };
  const from = id("from");
  const to = id("to");
  if (typeof from === "string") return from;
  if (typeof to === "string") return to;
  return from <= to ? { from, to } : `--from (${from}) is after --to (${to})`;
}

const range = rangeOf(process.argv.slice(2));
const databaseUrl = process.env.DATABASE_URL;
if (typeof range === "string" || !databaseUrl) {
  console.error(`${typeof range === "string" ? range : "DATABASE_URL is not set"}\n${usage}`);
  process.exit(2);
}
const pool = createPool({ url: databaseUrl, applicationName: "outbox-republish", onError: () => undefined });
const nats = await connectNats();
try {
  const sent = await republishOutbox(pool, jetstream(nats), range.from, range.to);
  console.log(`re-published ${sent} outbox rows (${range.from}…${range.to})`);
} catch (error) {
  // What was sent, and why it stopped, in a sentence: not a stack.
  console.error(error instanceof RepublishFailed ? error.message : String(error));
  process.exitCode = 1;
} finally {
  await nats.drain();
  await pool.end();
}
