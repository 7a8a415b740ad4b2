-- SetStock's expected_on_hand compared numbers: a count taken against 10 on hand was
-- answered "already in effect" when a sale had meanwhile brought on hand to the very
-- number counted, and a count sent again after a sale's units came back on sale was
-- applied twice. A number cannot tell "unchanged" from "changed and changed back".
--
-- on_hand_version changes whenever on hand (available + reserved) does — a sale, units
-- back on sale, a count, a seed — whoever writes the row: GetStock answers it and
-- SetStock's expected_on_hand_version compares it. stock_counts remembers each SKU's
-- last count (the version and on hand it was taken against, what it set, and the
-- version it left), so that the same count sent again, with nothing changed since, is
-- answered as done rather than refused.
ALTER TABLE products ADD COLUMN on_hand_version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION products_on_hand_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.on_hand_version := OLD.on_hand_version + 1;
  RETURN NEW;
END
$$;

-- Reserving and releasing move units between available and reserved, leaving on hand
-- (and the version) alone: the WHEN clause spares those updates the call.
CREATE TRIGGER products_on_hand_version BEFORE UPDATE ON products FOR EACH ROW
  WHEN (NEW.available + NEW.reserved IS DISTINCT FROM OLD.available + OLD.reserved)
  EXECUTE FUNCTION products_on_hand_changed();

CREATE TABLE stock_counts (
  sku            text COLLATE "C" PRIMARY KEY REFERENCES products (sku),
  from_version   bigint      NOT NULL,
  from_on_hand   bigint      NOT NULL,
  on_hand        bigint      NOT NULL,
  version        bigint      NOT NULL,
  counted_at     timestamptz NOT NULL DEFAULT now()
);
