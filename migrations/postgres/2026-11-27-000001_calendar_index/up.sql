-- A per-user calendar index: each grant carries the times of its event, so that the
-- events shared with a user are an index range scan of that user's grants in list order,
-- as the events they own are of `events` — whatever other users hold. Triggers keep the
-- copies in the same transaction as every write that sets them.
ALTER TABLE event_permissions
    ADD COLUMN start_time   TIMESTAMP,
    ADD COLUMN series_start TIMESTAMP,
    ADD COLUMN series_end   TIMESTAMP;
UPDATE event_permissions p
    SET start_time = e.start_time, series_start = e.series_start, series_end = e.series_end
    FROM events e
    WHERE e.id = p.event_id;

-- A grant takes its event's times.
CREATE FUNCTION event_permissions_take_times() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    SELECT e.start_time, e.series_start, e.series_end
        INTO NEW.start_time, NEW.series_start, NEW.series_end
        FROM events e
        WHERE e.id = NEW.event_id;
    RETURN NEW;
END
$$;
CREATE TRIGGER event_permissions_take_times
    BEFORE INSERT ON event_permissions
    FOR EACH ROW EXECUTE FUNCTION event_permissions_take_times();

-- An event's grants follow its times.
CREATE FUNCTION events_times_to_permissions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE event_permissions
        SET start_time = NEW.start_time,
            series_start = NEW.series_start,
            series_end = NEW.series_end
        WHERE event_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER events_times_to_permissions
    AFTER UPDATE OF start_time, series_start, series_end ON events
    FOR EACH ROW
    WHEN (OLD.start_time IS DISTINCT FROM NEW.start_time
          OR OLD.series_start IS DISTINCT FROM NEW.series_start
          OR OLD.series_end IS DISTINCT FROM NEW.series_end)
    EXECUTE FUNCTION events_times_to_permissions();

-- The lists' range scans: a user's own events, and their grants, in each list's order.
DROP INDEX event_permissions_user_idx;
CREATE INDEX event_permissions_user_start_idx
    ON event_permissions (user_id, start_time, event_id);
CREATE INDEX event_permissions_user_series_idx
    ON event_permissions (user_id, series_start, event_id);
CREATE INDEX events_owner_series_idx ON events (owner_id, series_start, id);
