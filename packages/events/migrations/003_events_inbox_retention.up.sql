-- The inbox is pruned by age (pruneEvents, every service): oldest rows first, through
-- this index, so a pruning reads only the rows it removes.
CREATE INDEX inbox_processed_at ON inbox (processed_at);
