DROP TRIGGER occurrences_no_overlap_update ON occurrences;
DROP TRIGGER occurrences_no_overlap_insert ON occurrences;
DROP FUNCTION occurrences_no_overlap();
ALTER TABLE occurrences ADD CONSTRAINT occurrences_no_overlap EXCLUDE USING gist (
    owner_id WITH =,
    tsrange(start_time, end_time, '[)') WITH &&
);
