DROP TABLE horizons;
DROP TABLE occurrences;
ALTER TABLE event_versions
    DROP COLUMN time_zone, DROP COLUMN recurrence, DROP COLUMN transparency,
    DROP COLUMN exceptions;
ALTER TABLE events
    DROP COLUMN time_zone, DROP COLUMN recurrence, DROP COLUMN transparency,
    DROP COLUMN exceptions, DROP COLUMN series_start, DROP COLUMN series_end;
ALTER TABLE events ADD CONSTRAINT events_no_overlap EXCLUDE USING gist (
    owner_id WITH =,
    tsrange(start_time, end_time, '[)') WITH &&
);
