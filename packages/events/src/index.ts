export { allEvents } from "./all-events.js";
export {
  type BatchedEvent,
  type ConsumerOptions,
  type DeliveryInfo,
  type Durable,
  type EventContext,
  type EventHandler,
  type EventSubscription,
  on,
  onTx,
  onTxBatch,
  type RunningConsumer,
  startConsumer,
  type TransactionalBatchHandler,
  type TransactionalHandler,
} from "./consumer.js";
export {
  type DeadLetter,
  DeadLetterExpired,
  DeadLetterNotFound,
  discardDeadLetter,
  listDeadLetters,
  type Replayed,
  replayDeadLetter,
} from "./dead-letters.js";
export { createEventCatalog, type EventCatalog, type EventRoute } from "./event-catalog.js";
export { withoutCredentials } from "./nats-url.js";
export {
  createOutbox,
  type NewEvent,
  type Outbox,
  type OutboxEvent,
  type OutboxRow,
  type OutboxWritten,
  outboxInsertManyGuardedSql,
  outboxInsertManySql,
  outboxInsertSql,
  outboxManyParams,
  outboxParams,
  outboxWrittenSql,
  type WrittenOutboxRow,
} from "./outbox.js";
export { outboxBacklog } from "./outbox-backlog.js";
export { PermanentEventError } from "./permanent-event-error.js";
export { publishEvent } from "./publish-event.js";
export { type OutboxRelay, type OutboxRelayOptions, startOutboxRelay } from "./relay.js";
export { republishOutbox } from "./republish.js";
export {
  type EventPruner,
  type EventRetention,
  inboxOutlivesOutboxDays,
  type Pruned,
  pruneEvents,
  startEventPruner,
} from "./retention.js";
export { ensureStreams, eventMaxAgeDays, type StreamOptions } from "./streams.js";
