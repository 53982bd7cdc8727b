DROP INDEX events_owner_series_idx;
DROP INDEX event_permissions_user_series_idx;
DROP INDEX event_permissions_user_start_idx;
CREATE INDEX event_permissions_user_idx ON event_permissions (user_id, event_id);
DROP TRIGGER events_times_to_permissions;
DROP TRIGGER event_permissions_take_times;
ALTER TABLE event_permissions DROP COLUMN series_end;
ALTER TABLE event_permissions DROP COLUMN series_start;
ALTER TABLE event_permissions DROP COLUMN start_time;
