-- Subscription-feed tokens: read-only, usable only for GET /api/calendar.ics, stored as
-- their SHA-256; revoking one deletes its row.
CREATE TABLE feed_tokens (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE INDEX feed_tokens_user_idx ON feed_tokens (user_id, id);
