// The inbox is pruned by age (pruneEvents, in every service): oldest rows first, through
// this index, so that a pruning reads only the rows it removes.
//
// Built CONCURRENTLY, so outside a transaction (hence JavaScript: node-pg-migrate runs
// every SQL file in one): a running mesh's inbox is large, and a plain CREATE INDEX would
// hold off every consumer's insert until it ended. A build that failed leaves an invalid
// index behind; the migration, not recorded then, drops it when it runs again.
export const up = (pgm) => {
  pgm.noTransaction();
  pgm.sql("DROP INDEX CONCURRENTLY IF EXISTS inbox_processed_at");
  pgm.sql("CREATE INDEX CONCURRENTLY inbox_processed_at ON inbox (processed_at)");
};
