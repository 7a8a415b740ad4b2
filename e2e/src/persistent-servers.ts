/**
 * Starts a persistent private PostgreSQL and nats-server on the folder and ports given
 * as arguments, as `npm start` does, prints their process ids and runs until it is
 * killed: what tests kill outright to leave the servers behind.
 */
import { startPrivateNats, startPrivatePostgres } from "@shopmesh/testing";

const [dir = "", postgresPort = "", natsPort = ""] = process.argv.slice(2);
const postgres = await startPrivatePostgres({ dir: `${dir}/postgres`, port: Number(postgresPort) });
const nats = await startPrivateNats({ dir: `${dir}/nats`, port: Number(natsPort) });
console.log(JSON.stringify({ postgres: postgres.pid, nats: nats.pid }));
setInterval(() => {}, 60_000);
