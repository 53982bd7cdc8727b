-- An owner's busy occurrences never overlap, checked by the database itself as on
-- PostgreSQL (there a statement trigger; see its migration): before each row is
-- written, the owner's other occurrence with the latest start before the row's end —
-- the only one that can overlap it, since the others do not overlap each other — is
-- read from `occurrences_owner_start_idx` (one seek) and must end by the row's start.
-- SQLite runs one writer at a time, so the check and the write cannot be raced.
CREATE TRIGGER occurrences_no_overlap_insert BEFORE INSERT ON occurrences
WHEN (SELECT o.end_time > NEW.start_time FROM occurrences o
      WHERE o.owner_id = NEW.owner_id AND o.start_time < NEW.end_time
        AND NOT (o.event_id = NEW.event_id AND o.recurrence_id = NEW.recurrence_id)
      ORDER BY o.start_time DESC LIMIT 1)
BEGIN
    SELECT RAISE(ABORT, 'occurrences_no_overlap: the occurrence overlaps a busy occurrence of the same owner');
END;

CREATE TRIGGER occurrences_no_overlap_update BEFORE UPDATE ON occurrences
WHEN (SELECT o.end_time > NEW.start_time FROM occurrences o
      WHERE o.owner_id = NEW.owner_id AND o.start_time < NEW.end_time
        AND NOT (o.event_id = OLD.event_id AND o.recurrence_id = OLD.recurrence_id)
      ORDER BY o.start_time DESC LIMIT 1)
BEGIN
    SELECT RAISE(ABORT, 'occurrences_no_overlap: the occurrence overlaps a busy occurrence of the same owner');
END;
