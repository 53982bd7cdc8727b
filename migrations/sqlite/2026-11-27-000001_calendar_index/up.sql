-- A per-user calendar index: each grant carries the times of its event, so that the
-- events shared with a user are an index range scan of that user's grants in list order,
-- as the events they own are of `events` — whatever other users hold. Triggers keep the
-- copies in the same transaction as every write that sets them.
ALTER TABLE event_permissions ADD COLUMN start_time TIMESTAMP;
ALTER TABLE event_permissions ADD COLUMN series_start TIMESTAMP;
ALTER TABLE event_permissions ADD COLUMN series_end TIMESTAMP;
UPDATE event_permissions
    SET (start_time, series_start, series_end) =
        (SELECT e.start_time, e.series_start, e.series_end
         FROM events e WHERE e.id = event_permissions.event_id);

-- A grant takes its event's times.
CREATE TRIGGER event_permissions_take_times
    AFTER INSERT ON event_permissions
    FOR EACH ROW
    BEGIN
        UPDATE event_permissions
            SET (start_time, series_start, series_end) =
                (SELECT e.start_time, e.series_start, e.series_end
                 FROM events e WHERE e.id = NEW.event_id)
            WHERE event_id = NEW.event_id AND user_id = NEW.user_id;
    END;

-- An event's grants follow its times.
CREATE TRIGGER events_times_to_permissions
    AFTER UPDATE OF start_time, series_start, series_end ON events
    FOR EACH ROW
    WHEN OLD.start_time IS NOT NEW.start_time
         OR OLD.series_start IS NOT NEW.series_start
         OR OLD.series_end IS NOT NEW.series_end
    BEGIN
        UPDATE event_permissions
            SET start_time = NEW.start_time,
                series_start = NEW.series_start,
                series_end = NEW.series_end
            WHERE event_id = NEW.id;
    END;

-- The lists' range scans: a user's own events, and their grants, in each list's order.
DROP INDEX event_permissions_user_idx;
CREATE INDEX event_permissions_user_start_idx
    ON event_permissions (user_id, start_time, event_id);
CREATE INDEX event_permissions_user_series_idx
    ON event_permissions (user_id, series_start, event_id);
CREATE INDEX events_owner_series_idx ON events (owner_id, series_start, id);
