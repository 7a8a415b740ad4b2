import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import type { JsMsg } from "@nats-io/jetstream";
import { withTx } from "@shopmesh/pg";
import type pg from "pg";
import type { ConsumerOptions, DeliveryInfo, EventContext, EventSubscription } from "./consumer.js";
import { deadLetter } from "./dead-letter.js";
import { createKeyedQueue } from "./keyed-queue.js";
import { PermanentEventError } from "./permanent-event-error.js";

/** A message decoded and matched to its subscription. */
interface Delivery extends DeliveryInfo {
  readonly message: JsMsg;
  readonly event: MessageShape<DescMessage>;
  readonly subscription: EventSubscription;
}

/** Applies batches of messages for one consumer. */
export interface Deliveries {
  /** Applies a batch: transactional events together, others concurrently (not awaited). */
  process(messages: readonly JsMsg[]): Promise<void>;
  /** Resolves when no event is being handled. */
  idle(): Promise<void>;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The delivery logic of a consumer: decoding, inbox transactions, acks, retries, dead letters. */
export function createDeliveries(options: ConsumerOptions & { maxAttempts: number }): Deliveries {
  const handlers = new Map(options.subscriptions.map((subscription) => [subscription.schema.typeName, subscription]));
  const queue = createKeyedQueue(options.concurrency ?? 32);
  const claimOne = (tx: pg.ClientBase, eventId: string) =>
    tx.query("INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", [options.name, eventId]);

  const fail = (message: JsMsg, reason: string, error?: unknown) => deadLetter(options, message, reason, error);

  const failed = async (delivery: Delivery, error: unknown) => {
    if (error instanceof PermanentEventError || delivery.deliveryCount >= options.maxAttempts) {
      return fail(delivery.message, error instanceof Error ? error.message : String(error), error);
    }
    const delays = options.retryDelaysMs ?? [100, 500, 2_000, 5_000];
    const delay = delays[Math.min(delivery.deliveryCount - 1, delays.length - 1)] ?? 1_000;
    options.logger.warn(
      {
        err: error,
        subject: delivery.subject,
        eventId: delivery.eventId,
        deliveryCount: delivery.deliveryCount,
        retryInMs: delay,
      },
      "event failed",
    );
    delivery.message.nak(delay);
  };

  const decode = async (message: JsMsg): Promise<Delivery | undefined> => {
    const schema = options.catalog.schemaForSubject(message.subject);
    const subscription = schema && handlers.get(schema.typeName);
    if (!subscription) {
      message.ack();
      return undefined;
    }
    let event: MessageShape<DescMessage>;
    try {
      event = fromBinary(subscription.schema, message.data);
    } catch (error) {
      await fail(message, "undecodable payload", error);
      return undefined;
    }
    const eventId = (event as { eventId?: string }).eventId ?? "";
    if (!uuid.test(eventId)) {
      await fail(message, `invalid event id "${eventId}"`);
      return undefined;
    }
    const deliveryCount = message.info.deliveryCount;
    if (deliveryCount > options.maxAttempts) {
      await fail(message, `delivered ${deliveryCount} times without completing`);
      return undefined;
    }
    return { message, event, subscription, eventId, subject: message.subject, deliveryCount };
  };

  /** One event in its own transaction (or its own handler), acked or failed alone. */
  const applyOne = async (delivery: Delivery) => {
    const { subscription } = delivery;
    try {
      if ("apply" in subscription) {
        await withTx(options.pool, async (tx) => {
          const claimed = await claimOne(tx, delivery.eventId);
          if (claimed.rowCount !== 0) await subscription.apply(delivery.event, tx, delivery);
        });
      } else {
        const context: EventContext = {
          ...delivery,
          transaction: (work) =>
            withTx(options.pool, async (tx) => {
              const claimed = await claimOne(tx, delivery.eventId);
              return claimed.rowCount === 0 ? undefined : work(tx);
            }),
        };
        await subscription.handle(delivery.event, context);
      }
      delivery.message.ack();
    } catch (error) {
      await failed(delivery, error);
    }
  };

  /** Transactional events of a batch in one transaction; one by one if that fails. */
  const applyTogether = async (batch: readonly Delivery[]) => {
    if (batch.length === 1 && batch[0]) return applyOne(batch[0]);
    try {
      await withTx(options.pool, async (tx) => {
        const { rows } = await tx.query<{ event_id: string }>(
          `INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::uuid[])
           ON CONFLICT DO NOTHING RETURNING event_id`,
          [options.name, batch.map((delivery) => delivery.eventId)],
        );
        const fresh = new Set(rows.map((row) => row.event_id));
        for (const delivery of batch) {
          if (!fresh.delete(delivery.eventId)) continue;
          if ("apply" in delivery.subscription) await delivery.subscription.apply(delivery.event, tx, delivery);
        }
      });
      for (const delivery of batch) delivery.message.ack();
    } catch {
      for (const delivery of batch) await applyOne(delivery);
    }
  };

  return {
    async process(messages) {
      const decoded = (await Promise.all(messages.map(decode))).filter((d): d is Delivery => d !== undefined);
      const together = decoded.filter((delivery) => "apply" in delivery.subscription);
      for (const delivery of decoded) {
        if (!("apply" in delivery.subscription)) {
          await queue.push(keyOf(delivery.message), () => applyOne(delivery));
        }
      }
      if (together.length > 0) await applyTogether(together);
    },
    idle: () => queue.idle(),
  };
}

function keyOf(message: JsMsg): string {
  return message.headers?.get("Shopmesh-Key") || String(message.seq);
}
