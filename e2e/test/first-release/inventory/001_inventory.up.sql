-- The catalog and its stock. Every unit of a SKU is in exactly one bucket:
--   available (can be ordered), reserved (held for an unconfirmed order), sold.
-- Stock is conserved: initial = available + reserved + sold, and no bucket is ever
-- negative (the CHECKs are the backstop behind the guarded updates). on_hand in the
-- contract is available + reserved.
-- SKUs use the "C" collation: byte order is what the keyset paging and the sorted
-- lock order rely on, the same on every server.
CREATE TABLE products (
  sku          text COLLATE "C" PRIMARY KEY CHECK (sku ~ '^[A-Z0-9]+(-[A-Z0-9]+)*$' AND length(sku) <= 32),
  name         text        NOT NULL,
  description  text        NOT NULL DEFAULT '',
  category     text        NOT NULL,
  price_minor  bigint      NOT NULL CHECK (price_minor >= 0),
  currency     char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  available    bigint      NOT NULL CHECK (available >= 0),
  reserved     bigint      NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  sold         bigint      NOT NULL DEFAULT 0 CHECK (sold >= 0),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  -- What the catalog text filter matches: lower-case, so a plain LIKE is case-insensitive.
  search_text  text GENERATED ALWAYS AS (lower(name || ' ' || description || ' ' || category)) STORED
);

-- A trigram index makes LIKE '%text%' cheap on a large catalog. pg_trgm is not
-- installed on every server (nor may every role create it); without it the filter
-- still works, by a sequential scan.
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm;
  CREATE INDEX products_search_trgm ON products USING gin (search_text gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'pg_trgm unavailable (%); the catalog filter scans', SQLERRM;
END
$$;

-- One reservation per order: the unique key makes a replayed reservation a no-op.
--   reserved: every item is held (reservation_items)
--   rejected: nothing is held; shortages says why
--   released: the order was cancelled; its items (if any) went back to available.
--             Without items it is a tombstone: the cancellation came first, and a
--             later reservation for the order is refused.
--   sold:     the order was confirmed; its items moved from reserved to sold
CREATE TABLE reservations (
  order_id    uuid        PRIMARY KEY,
  status      text        NOT NULL CHECK (status IN ('reserved', 'rejected', 'released', 'sold')),
  -- A digest of the items asked for, so a repeated request with other items is refused
  -- rather than answered with the first outcome; NULL for a tombstone.
  request_digest text,
  -- [{"sku", "requested", "available"}] when rejected, so a repeat answers the same outcome.
  shortages   jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- What a reservation holds (or held, once sold or released).
CREATE TABLE reservation_items (
  order_id  uuid    NOT NULL REFERENCES reservations (order_id),
  sku       text COLLATE "C" NOT NULL REFERENCES products (sku),
  quantity  integer NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (order_id, sku)
);
