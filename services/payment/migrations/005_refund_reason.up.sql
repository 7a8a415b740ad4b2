-- Why a payment was refunded, for the record: the reason an operator gave the Refund
-- RPC, or the cancellation of its order. In a table of its own, not a column of
-- payments: the previous release reads payments with SELECT * in named statements,
-- prepared once per pooled connection, and a new column would fail each of them
-- ("cached plan must not change result type") on every replica still serving while a
-- rolling update runs. Payments refunded before this table have no row here.
CREATE TABLE refund_reasons (
  order_id uuid PRIMARY KEY REFERENCES payments (order_id),
  reason   text NOT NULL
);
