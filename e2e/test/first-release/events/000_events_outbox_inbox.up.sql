-- Outbox: events written in the same transaction as the state change they announce,
-- relayed to JetStream by the outbox relay. Rows are kept after publishing so a range
-- can be re-published (see republishOutbox).
CREATE TABLE outbox (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id     uuid        NOT NULL UNIQUE,
  subject      text        NOT NULL,
  event_type   text        NOT NULL,
  payload      bytea       NOT NULL,
  headers      jsonb       NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  published_at timestamptz
);
-- The relay claims unpublished rows in id order; a partial index keeps that cheap
-- however many published rows are kept.
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- Inbox: the events each consumer has applied, written in the transaction of the
-- effect, so a redelivered event is recognised and applied only once.
CREATE TABLE inbox (
  consumer     text        NOT NULL,
  event_id     uuid        NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);
