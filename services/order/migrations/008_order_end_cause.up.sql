-- Why an order ended REJECTED or CANCELLED, for programs (Order.end_cause), beside the
-- reason people read: '' while the order is live or CONFIRMED, and for orders that
-- ended before causes were recorded. A constant default adds the column without
-- rewriting the table, and the replicas of the release before, which do not write it,
-- go on working during a rolling update. Idempotent, as 004 is, so that a test can
-- stand a database back to before 004 with both recorded as not run.
ALTER TABLE orders ADD COLUMN IF NOT EXISTS end_cause text NOT NULL DEFAULT '';
