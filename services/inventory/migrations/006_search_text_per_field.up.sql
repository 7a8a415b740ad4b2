-- A catalog query must appear in the name, the description or the category, not in
-- text that runs from one into the next ("desk lamp" matched a product named "… desk"
-- whose description begins "lamp …"). The fields are now joined by U+001F (unit
-- separator), which no product text (migration 005) and no query (the contract) holds.
--
-- PostgreSQL 15 cannot change a generated column's expression: the column and its
-- index are made again, which rewrites the table under its strongest lock (a catalog
-- is small). As in 005, a lock held by someone else is waited for 1 s at most; the
-- migration is tried again.
SET LOCAL lock_timeout = '1s';
ALTER TABLE products DROP COLUMN search_text;
ALTER TABLE products ADD COLUMN search_text text
  GENERATED ALWAYS AS (lower(name || E'\x1f' || description || E'\x1f' || category)) STORED;
-- As in 001: without pg_trgm the filter still works, by a sequential scan.
DO $$
BEGIN
  CREATE INDEX products_search_trgm ON products USING gin (search_text gin_trgm_ops);
EXCEPTION WHEN undefined_object THEN
  RAISE NOTICE 'pg_trgm unavailable (%); the catalog filter scans', SQLERRM;
END
$$;
