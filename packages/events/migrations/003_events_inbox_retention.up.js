// The inbox is pruned by age (pruneEvents, in every service): oldest rows first, through
// this index, so that a pruning reads only the rows it removes.
//
// Built CONCURRENTLY, so outside a transaction (hence JavaScript: node-pg-migrate runs
// every SQL file in one): a running mesh's inbox is large, and a plain CREATE INDEX would
// hold off every consumer's insert until it ended. The build waits for every transaction
// open in the database; after a minute of that it gives up (lock_timeout) rather than
// stall a rollout behind someone's forgotten session, and the next start tries again. A
// build that failed leaves an invalid index behind; the migration, not recorded then,
// drops it when it runs again. The file keeps the `.up` of the SQL file it replaced:
// node-pg-migrate records that name, and checks it.
export const up = (pgm) => {
  pgm.noTransaction();
  pgm.sql("SET lock_timeout = '60s'");
  pgm.sql("DROP INDEX CONCURRENTLY IF EXISTS inbox_processed_at");
  pgm.sql("CREATE INDEX CONCURRENTLY inbox_processed_at ON inbox (processed_at)");
  pgm.sql("RESET lock_timeout");
};
