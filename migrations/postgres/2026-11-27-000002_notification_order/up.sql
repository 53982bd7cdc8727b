-- Notifications are delivered in the order of the transactions that wrote them, not
-- by id alone: ids come from a sequence and commit out of order under concurrency.
-- Each row records its writing transaction (`pg_current_xact_id()`, as a bigint), and
-- readers deliver in (xact, id) order only the rows of transactions below the oldest one
-- still running (`pg_snapshot_xmin`): every row committed later has a larger xact, so
-- the order never changes behind a reader, and no writer waits on another.
ALTER TABLE notifications
    ADD COLUMN xact BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX notifications_feed_idx ON notifications (xact, id);
CREATE INDEX notifications_user_feed_idx ON notifications (user_id, xact, id);
