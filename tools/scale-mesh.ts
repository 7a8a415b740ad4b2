/**
 * `npm run scale`: horizontal scaling on this machine. Runs several replicas of every
 * service as processes behind nginx (gRPC over HTTP/2 and Connect), places orders
 * through it, kills one replica of each service mid-run, and reports how calls, events
 * and outbox rows spread over the replicas and whether every invariant held.
 * Uses DATABASE_URL (admin) and NATS_URL, else the local PostgreSQL and NATS;
 * everything it creates is removed. Options: --replicas N --orders N --concurrency N
 * --kill-after N (0: kill nothing).
 */
import { parseArgs } from "node:util";
import { runScaleScenario } from "../deploy/src/scale-run.js";

const { values } = parseArgs({
  options: {
    replicas: { type: "string", default: "2" },
    orders: { type: "string", default: "240" },
    concurrency: { type: "string", default: "8" },
    "kill-after": { type: "string" },
    verbose: { type: "boolean", default: false },
  },
});
const orders = Number(values.orders);
const report = await runScaleScenario({
  postgresUrl: process.env.DATABASE_URL ?? "postgres://root@127.0.0.1:5432/postgres",
  natsUrl: process.env.NATS_URL ?? "nats://127.0.0.1:4222",
  replicas: Number(values.replicas),
  orders,
  concurrency: Number(values.concurrency),
  killAfter: values["kill-after"] === undefined ? Math.floor(orders / 3) : Number(values["kill-after"]),
  log: (line) => {
    if (values.verbose || !line.startsWith("[")) console.log(line);
  },
});
const { problems, ...shown } = report;
console.log(JSON.stringify(shown, null, 2));
if (problems.length > 0) {
  console.error(`✖ ${problems.length} invariant violations:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(
  `✔ ${report.acknowledged} orders over ${report.replicas} replicas per service, one of each killed mid-run: none lost, none duplicated`,
);
