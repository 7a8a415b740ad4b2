/**
 * Publishes a range of a service's outbox rows to JetStream again, for recovering
 * events a JetStream server lost (nats-server 2.9 flushes its store every two minutes):
 *
 *   DATABASE_URL=postgres://…/shopmesh_order NATS_URL=nats://… \
 *     npm run outbox:republish -- --from 1200 --to 1450
 *
 * Inside JetStream's 2-minute duplicate window the copies are dropped; beyond it,
 * consumers' inboxes make them no-ops. Prints how many rows were sent.
 */
import { parseArgs } from "node:util";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { republishOutbox } from "@shopmesh/events";
import { createPool } from "@shopmesh/pg";

const { values } = parseArgs({ options: { from: { type: "string" }, to: { type: "string" } } });
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl || !values.from || !values.to || !/^\d+$/.test(values.from) || !/^\d+$/.test(values.to)) {
  console.error("usage: DATABASE_URL=… [NATS_URL=…] npm run outbox:republish -- --from <id> --to <id>");
  process.exit(2);
}
const pool = createPool({ url: databaseUrl, applicationName: "outbox-republish", onError: () => undefined });
const nats = await connect({ servers: (process.env.NATS_URL ?? "nats://127.0.0.1:4222").split(",") });
try {
  const sent = await republishOutbox(pool, jetstream(nats), BigInt(values.from), BigInt(values.to));
  console.log(`re-published ${sent} outbox rows (${values.from}…${values.to})`);
} finally {
  await nats.drain();
  await pool.end();
}
