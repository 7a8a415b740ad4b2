-- Why a payment was refunded, for the record: the reason an operator gave the Refund
-- RPC, or the cancellation of its order. Payments refunded before this column read NULL.
ALTER TABLE payments ADD COLUMN refund_reason text;
