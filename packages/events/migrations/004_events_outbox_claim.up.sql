-- The relay's lease column, for databases made before it existed. 000 gained it after
-- databases had already run 000 (the file was edited in place), and node-pg-migrate
-- never runs a recorded migration again: on those databases every outbox insert and
-- every relay claim failed. Where 000 already made the column, this does nothing.
-- Released migrations are never edited since (e2e/test/migrations.e2e.test.ts).
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS claimed_until timestamptz;
