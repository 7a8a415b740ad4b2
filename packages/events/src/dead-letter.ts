import type { JsMsg } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import type { ConsumerOptions } from "./consumer.js";
import { longestRetryDelayMs } from "./retry-delays.js";

/**
 * The headers a dead-letter copy adds to the event's own: where it came from and why
 * it was parked. A replay takes them off again (see replayDeadLetter).
 */
export const deadLetterHeader = {
  reason: "Shopmesh-Dead-Letter-Reason",
  consumer: "Shopmesh-Dead-Letter-Consumer",
  stream: "Shopmesh-Original-Stream",
  subject: "Shopmesh-Original-Subject",
  sequence: "Shopmesh-Original-Sequence",
  deliveries: "Shopmesh-Deliveries",
} as const;

/**
 * The producer's id of a dead-lettered message (the outbox id), which the copy cannot
 * carry as Nats-Msg-Id. Kept on a replay: the consumer span names its message by it,
 * as the first delivery's did.
 */
export const originalMessageIdHeader = "Shopmesh-Original-Msg-Id";

/**
 * When the event was first dead-lettered (ISO 8601), kept on a replay and by a copy
 * parked again: a dead letter may be replayed only within the dead-letter stream's
 * age of its first parking, however often it comes back, as the inbox's retention
 * counts that age once (decision 0014).
 */
export const firstDeadLetteredAtHeader = "Shopmesh-First-Dead-Lettered-At";

/**
 * The durable consumer a replayed event is for: the one that parked it. Every other
 * consumer of the subject had the event from its stream, and applied it or parked it
 * itself (a letter of its own, replayed for it alone) — or its letter was discarded by
 * an operator who repaired that side by hand, which a replay must not undo.
 */
export const replayForHeader = "Shopmesh-Replay-For";

/** Why a message is dead-lettered, and the order it is about (for the person who replays it). */
export interface DeadLetterCause {
  readonly reason: string;
  readonly error?: unknown;
  readonly orderId?: string;
}

/**
 * Copies a message that cannot be applied to the dead-letter stream, with the
 * reason and where it came from, then terminates it. If the copy cannot be written
 * the message is nak'ed instead (for the longest of the retry delays), so it comes
 * back to be copied again: its consumer has no server-side delivery bound. Answers
 * whether the copy was written (the message dead-lettered) — false when it was
 * nak'ed, a retry. Call it inside the event's consumer span: its log lines carry the
 * trace id.
 */
export async function deadLetter(
  options: ConsumerOptions,
  message: JsMsg,
  { reason, error, orderId }: DeadLetterCause,
): Promise<boolean> {
  const { js, catalog, logger, name } = options;
  const headers = natsHeaders();
  for (const [key, values] of message.headers ?? []) {
    if (key !== "Nats-Msg-Id") for (const value of values) headers.append(key, value);
  }
  const messageId = message.headers?.get(originalMessageIdHeader) || message.headers?.get("Nats-Msg-Id");
  if (messageId) headers.set(originalMessageIdHeader, messageId);
  if (!headers.has(firstDeadLetteredAtHeader)) headers.set(firstDeadLetteredAtHeader, new Date().toISOString());
  // On one line: a header value cannot hold CR or LF (nats.js throws before anything is
  // copied), and a reason may (a provider's error body, a validation library's message).
  headers.set(deadLetterHeader.reason, reason.replace(/[\r\n]+/g, " ").slice(0, 1000));
  headers.set(deadLetterHeader.consumer, name);
  headers.set(deadLetterHeader.stream, message.info.stream);
  headers.set(deadLetterHeader.subject, message.subject);
  headers.set(deadLetterHeader.sequence, String(message.seq));
  headers.set(deadLetterHeader.deliveries, String(message.info.deliveryCount));
  try {
    await js.publish(catalog.deadLetterSubject(name), message.data, {
      headers,
      // The event id too: a stream made again numbers its messages from 1 again, and a
      // copy taken for a duplicate of an older one would be terminated uncopied.
      msgID: `${message.info.stream}:${message.seq}:${name}:${message.headers?.get("Shopmesh-Event-Id") ?? ""}`,
    });
    logger.error({ err: error, reason, orderId, subject: message.subject, seq: message.seq }, "event dead-lettered");
    // No reason argument: nats-server 2.9 ignores "+TERM <reason>" (reasons arrived in
    // 2.10), leaving the message pending forever. The reason travels in the headers.
    message.term();
    return true;
  } catch (publishError) {
    logger.error(
      { err: publishError, reason, orderId, subject: message.subject, seq: message.seq },
      "could not dead-letter event; will retry",
    );
    message.nak(longestRetryDelayMs(options.retryDelaysMs));
    return false;
  }
}
