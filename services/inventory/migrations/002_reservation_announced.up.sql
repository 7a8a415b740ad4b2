-- Whether a reservation's outcome was announced on the stream (StockReserved,
-- StockRejected, StockReleased). One that an operator's ReserveStock made, or the
-- tombstone of a ReleaseStock, was not: the order's OrderPlaced announces it when it
-- comes (reserve-stock.ts), so the order does not wait for an answer given to
-- someone else. Rows from before are taken as announced.
ALTER TABLE reservations ADD COLUMN announced boolean NOT NULL DEFAULT true;
