/**
 * Lists, replays and discards the events parked in the dead-letter stream
 * (docs/tracing.md#dead-letters). From a checkout, and in every service's image with
 * the pod's own NATS_URL and EVENT_NAMESPACE:
 *
 *   NATS_URL=nats://… npm run deadletters                         # every parked event
 *   npm run deadletters -- list --consumer payment --json          # one consumer's, a JSON object per line
 *   npm run deadletters -- replay --seq 12 --seq 13                # back to their subjects, once the cause is fixed
 *   npm run deadletters -- replay --all --consumer payment
 *   npm run deadletters -- replay --seq 14 --force                 # first parked longer ago than DEADLETTER keeps one
 *   npm run deadletters -- discard --seq 12                        # dealt with otherwise
 *   kubectl exec deploy/order -- /nodejs/bin/node deadletters.js list
 *
 * EVENT_NAMESPACE names the mesh's streams, as the services have it. Exits 1 when a
 * dead letter named could not be replayed or discarded.
 */
import { parseArgs } from "node:util";
import { JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager } from "@nats-io/jetstream";
import {
  allEvents,
  createEventCatalog,
  type DeadLetter,
  discardDeadLetter,
  listDeadLetters,
  replayDeadLetter,
} from "../index.js";
import { connectNats, printableNatsUrl } from "./connect-nats.js";

const usage = `usage: [NATS_URL=…] [EVENT_NAMESPACE=…] deadletters [list] [--consumer NAME] [--json]
       deadletters replay (--seq N … | --all [--consumer NAME]) [--force]
       deadletters discard --seq N …
(npm run deadletters -- … in a checkout; node deadletters.js … in a service's image)`;

/** The arguments, or undefined (after saying why) when they are not an option this command has. */
function argumentsOf(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: {
        consumer: { type: "string" },
        json: { type: "boolean", default: false },
        seq: { type: "string", multiple: true, default: [] },
        all: { type: "boolean", default: false },
        force: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return undefined;
  }
}

const parsed = argumentsOf(process.argv.slice(2));
if (!parsed) {
  console.error(usage);
  process.exit(2);
}
const { values, positionals } = parsed;
const [command = "list", ...extra] = positionals;
// Digits only: Number() would also read "1e3", "0x10" or "1.0", a letter the operator did not name.
const notSequence = values.seq.find(
  (seq) => !/^\d+$/.test(seq) || !Number.isSafeInteger(Number(seq)) || Number(seq) < 1,
);
if (notSequence !== undefined) {
  console.error(`--seq must be a dead letter's stream sequence, a whole number from 1: "${notSequence}"\n${usage}`);
  process.exit(2);
}
const seqs = values.seq.map(Number);
const valid =
  extra.length === 0 &&
  (command === "replay" || !values.force) &&
  // --consumer chooses what a listing or --all takes; beside named sequences it would be ignored.
  (values.consumer === undefined || command === "list" || values.all) &&
  (seqs.length === 0 || command !== "list") &&
  (command === "list" ||
    (command === "replay" && seqs.length > 0 !== values.all) ||
    (command === "discard" && seqs.length > 0 && !values.all));
if (!valid) {
  console.error(usage);
  process.exit(2);
}

const catalog = createEventCatalog(allEvents, process.env.EVENT_NAMESPACE || undefined);
const nats = await connectNats();
try {
  const jsm = await jetstreamManager(nats);
  if (command === "list") {
    const parked = await listDeadLetters(jsm, catalog, { consumer: values.consumer });
    for (const deadLetter of parked) console.log(values.json ? JSON.stringify(deadLetter) : describe(deadLetter));
    if (!values.json) console.log(`${parked.length} dead letter(s) in ${catalog.deadLetterStream}`);
  } else {
    const targets = values.all
      ? (await listDeadLetters(jsm, catalog, { consumer: values.consumer })).map((deadLetter) => deadLetter.seq)
      : seqs;
    if (targets.length === 0) {
      const whose = values.consumer ? ` of consumer ${values.consumer}` : "";
      console.log(`no dead letters${whose} in ${catalog.deadLetterStream}: nothing to ${command}`);
    }
    const js = jetstream(nats);
    let failed = 0;
    for (const seq of targets) {
      try {
        if (command === "replay") {
          const replayed = await replayDeadLetter(js, jsm, catalog, seq, { force: values.force });
          console.log(`${seq}: replayed to ${replayed.subject} (stream sequence ${replayed.streamSeq})`);
        } else {
          await discardDeadLetter(jsm, catalog, seq);
          console.log(`${seq}: discarded`);
        }
      } catch (error) {
        failed++;
        console.error(`${seq}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (failed > 0) process.exitCode = 1;
  }
} catch (error) {
  // An operator's mistake (a namespace that is not the services') deserves a sentence, not a stack.
  const missing = error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound;
  console.error(
    missing
      ? `no stream ${catalog.deadLetterStream} on ${printableNatsUrl()}: is EVENT_NAMESPACE the services' one?`
      : String(error),
  );
  process.exitCode = 1;
} finally {
  await nats.drain();
}

function describe(deadLetter: DeadLetter): string {
  const { seq, deadLetteredAt, firstDeadLetteredAt, consumer, original, orderId, eventType, deliveries, reason } =
    deadLetter;
  // Parked again after a replay (a minute apart at least: the first copy's own header
  // is written a moment before the stream stamps it, on another clock).
  const parkedBefore =
    deadLetteredAt.getTime() - firstDeadLetteredAt.getTime() > 60_000
      ? `  (first parked ${firstDeadLetteredAt.toISOString()})`
      : "";
  return [
    `#${seq}  ${deadLetteredAt.toISOString()}${parkedBefore}  consumer ${consumer}  ${original.subject} (seq ${original.seq})`,
    `    ${eventType ?? "unknown type"}${orderId ? `  order ${orderId}` : ""}  after ${deliveries} deliveries`,
    `    reason: ${reason}`,
  ].join("\n");
}
