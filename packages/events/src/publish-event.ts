import { randomUUID } from "node:crypto";
import { create, type DescMessage, type MessageInitShape, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { JetStreamClient } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import type { EventCatalog } from "./event-catalog.js";

/**
 * Publishes one event straight to JetStream, with the headers the relay sets —
 * bypassing any outbox. For tests and operator tools that inject an event; services
 * publish only through their outbox.
 */
export async function publishEvent<Desc extends DescMessage>(
  js: JetStreamClient,
  catalog: EventCatalog,
  schema: Desc,
  init: MessageInitShape<Desc>,
): Promise<MessageShape<Desc>> {
  const message = create(schema, {
    eventId: randomUUID(),
    occurTime: timestampNow(),
    ...init,
  } as MessageInitShape<Desc>);
  const { eventId, orderId } = message as unknown as { eventId: string; orderId?: string };
  const headers = natsHeaders();
  headers.set("Shopmesh-Event-Id", eventId);
  headers.set("Shopmesh-Event-Type", schema.typeName);
  if (orderId) headers.set("Shopmesh-Key", orderId);
  await js.publish(catalog.route(schema).subject, toBinary(schema, message), { headers, msgID: `direct-${eventId}` });
  return message;
}
