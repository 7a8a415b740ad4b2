import { OrderPlacedSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { waitFor } from "@shopmesh/testing";
import { onTx, PermanentEventError, type RunningConsumer, startConsumer } from "../src/index.js";
import { type UsedEventsTestbed, useEventsTestbed } from "./testbed.js";

/** A dead-letter test file's testbed, with consumers that park the events they refuse. */
export interface DeadLetterTestbed {
  readonly bed: UsedEventsTestbed;
  /**
   * Starts consumer `name`, which applies OrderPlaced in a transaction with its inbox row
   * and refuses for good (parks) those about an order in `refused` when they arrive.
   */
  applier(name: string, refused: ReadonlySet<string>): Promise<RunningConsumer>;
  /** 1 once consumer `consumer` has applied event `eventId`, 0 before. */
  appliedBy(consumer: string, eventId: string): Promise<number>;
  /**
   * Waits until consumer `consumer` has been delivered ORDERS up to `streamSeq` and has
   * acknowledged all it was: what it would do with that message is done.
   */
  waitDoneWith(consumer: string, streamSeq: number, description: string): Promise<void>;
}

/** Opens a {@link useEventsTestbed} whose database records what each applier applied. */
export function useDeadLetterTestbed(label: string): DeadLetterTestbed {
  const bed = useEventsTestbed(
    label,
    "CREATE TABLE applied (consumer text, event_id uuid, PRIMARY KEY (consumer, event_id))",
  );
  return {
    bed,
    applier: (name, refused) =>
      startConsumer({
        ...bed.consumer,
        name,
        subscriptions: [
          onTx(OrderPlacedSchema, async (event, tx, context) => {
            if (refused.has(event.orderId)) throw new PermanentEventError(`no warehouse for ${event.orderId}`);
            await tx.query("INSERT INTO applied (consumer, event_id) VALUES ($1, $2)", [name, context.eventId]);
          }),
        ],
      }),
    appliedBy: async (consumer, eventId) =>
      (await bed.pool.query("SELECT 1 FROM applied WHERE consumer = $1 AND event_id = $2", [consumer, eventId]))
        .rowCount ?? 0,
    async waitDoneWith(consumer, streamSeq, description) {
      await waitFor(
        async () => {
          const info = await bed.jsm.consumers.info(bed.catalog.streamName("ORDERS"), consumer);
          return info.delivered.stream_seq >= streamSeq && info.num_ack_pending === 0;
        },
        { description },
      );
    },
  };
}
