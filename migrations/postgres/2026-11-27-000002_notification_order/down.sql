DROP INDEX notifications_user_feed_idx;
DROP INDEX notifications_feed_idx;
ALTER TABLE notifications DROP COLUMN xact;
