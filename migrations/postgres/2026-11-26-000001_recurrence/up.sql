-- Recurring events, time zones and transparency. Existing events become single events
-- in UTC. The conflict rule moves from events to their busy occurrences.
ALTER TABLE events
    ADD COLUMN time_zone    TEXT NOT NULL DEFAULT 'UTC',
    ADD COLUMN recurrence   TEXT,
    ADD COLUMN transparency TEXT NOT NULL DEFAULT 'opaque'
        CHECK (transparency IN ('opaque', 'transparent')),
    -- Cancelled and edited occurrences of a series, as a JSON array.
    ADD COLUMN exceptions   TEXT NOT NULL DEFAULT '[]',
    -- The start of the earliest occurrence (a moved one may start before DTSTART).
    ADD COLUMN series_start TIMESTAMP,
    -- The end of the last occurrence; NULL while the series has no end.
    ADD COLUMN series_end   TIMESTAMP;
UPDATE events SET series_start = start_time, series_end = end_time;
ALTER TABLE events DROP CONSTRAINT events_no_overlap;

ALTER TABLE event_versions
    ADD COLUMN time_zone    TEXT NOT NULL DEFAULT 'UTC',
    ADD COLUMN recurrence   TEXT,
    ADD COLUMN transparency TEXT NOT NULL DEFAULT 'opaque',
    ADD COLUMN exceptions   TEXT NOT NULL DEFAULT '[]';

-- The busy (opaque) occurrences of every event through the horizon: what the conflict
-- check reads, one index probe per occurrence, and its race-free backstop.
CREATE TABLE occurrences (
    event_id      BIGINT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    recurrence_id TIMESTAMP NOT NULL,
    owner_id      BIGINT NOT NULL,
    start_time    TIMESTAMP NOT NULL,
    end_time      TIMESTAMP NOT NULL,
    PRIMARY KEY (event_id, recurrence_id),
    CONSTRAINT occurrences_time_order CHECK (start_time < end_time),
    CONSTRAINT occurrences_no_overlap EXCLUDE USING gist (
        owner_id WITH =,
        tsrange(start_time, end_time, '[)') WITH &&
    )
);
-- The conflict scan reads this index only (an index-only scan): one page per probe.
CREATE INDEX occurrences_owner_start_idx ON occurrences (owner_id, start_time, event_id)
    INCLUDE (end_time, recurrence_id);
INSERT INTO occurrences (event_id, recurrence_id, owner_id, start_time, end_time)
    SELECT id, start_time, owner_id, start_time, end_time FROM events;

-- Busy series whose occurrences go on past the horizon: those starting before
-- `materialized_until` are in `occurrences`; the horizon task moves it on.
CREATE TABLE horizons (
    event_id           BIGINT PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    materialized_until TIMESTAMP NOT NULL
);
CREATE INDEX horizons_materialized_until_idx ON horizons (materialized_until, event_id);
