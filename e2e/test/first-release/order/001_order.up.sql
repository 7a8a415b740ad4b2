-- Orders, their priced lines and every status they went through.
CREATE TABLE orders (
  order_id        uuid PRIMARY KEY,
  customer_id     text        NOT NULL,
  status          text        NOT NULL CHECK (status IN ('pending', 'reserved', 'confirmed', 'rejected', 'cancelled')),
  status_reason   text        NOT NULL DEFAULT '',
  total_minor     bigint      NOT NULL CHECK (total_minor >= 0),
  currency        char(3)     NOT NULL,
  payment_id      text        NOT NULL DEFAULT '',
  idempotency_key text        NOT NULL,
  request_hash    text        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  -- The same key from the same customer is the same order.
  UNIQUE (customer_id, idempotency_key)
);
-- "My orders", newest first, paged by (created_at, order_id).
CREATE INDEX orders_by_customer ON orders (customer_id, created_at DESC, order_id DESC);

CREATE TABLE order_lines (
  order_id         uuid    NOT NULL REFERENCES orders ON DELETE CASCADE,
  line_no          int     NOT NULL,
  sku              text    NOT NULL,
  name             text    NOT NULL,
  quantity         int     NOT NULL CHECK (quantity > 0),
  unit_price_minor bigint  NOT NULL CHECK (unit_price_minor >= 0),
  PRIMARY KEY (order_id, line_no)
);

CREATE TABLE order_history (
  order_id  uuid        NOT NULL REFERENCES orders ON DELETE CASCADE,
  seq       int         NOT NULL,
  status    text        NOT NULL,
  reason    text        NOT NULL DEFAULT '',
  at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (order_id, seq)
);
