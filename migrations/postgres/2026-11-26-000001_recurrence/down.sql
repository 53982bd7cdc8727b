DROP TABLE occurrences;
ALTER TABLE event_versions
    DROP COLUMN time_zone, DROP COLUMN recurrence, DROP COLUMN transparency,
    DROP COLUMN exceptions;
DROP INDEX events_materialized_until_idx;
ALTER TABLE events
    DROP COLUMN time_zone, DROP COLUMN recurrence, DROP COLUMN transparency,
    DROP COLUMN exceptions, DROP COLUMN series_end, DROP COLUMN materialized_until;
ALTER TABLE events ADD CONSTRAINT events_no_overlap EXCLUDE USING gist (
    owner_id WITH =,
    tsrange(start_time, end_time, '[)') WITH &&
);
