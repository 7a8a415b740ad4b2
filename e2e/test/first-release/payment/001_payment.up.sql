-- The one payment of each order (order_id is the key: at most one payment per order).
-- `voided` is a tombstone: the order was cancelled before anything was charged, so a
-- StockReserved arriving later must not charge it. A voided row has no amount.
CREATE TABLE payments (
  order_id           uuid        PRIMARY KEY,
  payment_id         uuid        NOT NULL UNIQUE DEFAULT gen_random_uuid(),
  status             text        NOT NULL CHECK (status IN ('captured', 'declined', 'refunded', 'voided')),
  amount_minor       bigint      CHECK (amount_minor > 0),
  currency           char(3),
  provider_reference text,
  refund_reference   text,
  decline_reason     text,
  attempts           integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CHECK (status = 'voided' OR (amount_minor IS NOT NULL AND currency IS NOT NULL)),
  CHECK (status NOT IN ('captured', 'refunded') OR provider_reference IS NOT NULL),
  CHECK (status <> 'refunded' OR refund_reference IS NOT NULL),
  CHECK (status <> 'declined' OR decline_reason IS NOT NULL)
);

-- Provider calls made for an order before its payment row exists, written just before
-- each call. They count attempts, and they are the durable trace that a charge may
-- have reached the provider: a voided order with attempts is settled by replaying the
-- charge (same idempotency key, so never a second capture) and refunding it.
CREATE TABLE charge_attempts (
  order_id   uuid        PRIMARY KEY,
  attempts   integer     NOT NULL CHECK (attempts > 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);
