-- Orders some WatchOrder stream is following, and by which process. A transition
-- NOTIFYs only for these: every notifying commit in the PostgreSQL cluster queues on
-- one lock held through the WAL flush, so notifying every transition would serialise
-- the saga's commits for the sake of watchers that mostly do not exist. A watcher's
-- rows are refreshed while it watches and ignored once `watched_until` passes (a
-- crashed process's rows expire). Unlogged: after a server crash the watchers
-- reconnect and register again.
CREATE UNLOGGED TABLE order_watches (
  order_id      uuid        NOT NULL,
  watcher       uuid        NOT NULL,
  watched_until timestamptz NOT NULL,
  PRIMARY KEY (order_id, watcher)
);
