-- The delivery order of notifications is (xact, id). SQLite runs one writer at a time,
-- so ids commit in order: every row has xact 0 and the order is the id order.
ALTER TABLE notifications ADD COLUMN xact BIGINT NOT NULL DEFAULT 0;
CREATE INDEX notifications_feed_idx ON notifications (xact, id);
CREATE INDEX notifications_user_feed_idx ON notifications (user_id, xact, id);
