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
 * consumers' inboxes make them no-ops. Prints how many rows were sent.
 */
import { parseArgs } from "node:util";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createPool } from "@shopmesh/pg";
import { republishOutbox } from "../republish.js";

const { values } = parseArgs({ options: { from: { type: "string" }, to: { type: "string" } } });
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl || !values.from || !values.to || !/^\d+$/.test(values.from) || !/^\d+$/.test(values.to)) {
  console.error(
    "usage: DATABASE_URL=… [NATS_URL=…] outbox-republish --from <id> --to <id>\n" +
      "(npm run outbox:republish -- … in a checkout; node outbox-republish.js … in a service's image)",
  );
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
