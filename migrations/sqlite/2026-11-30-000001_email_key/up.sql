-- Emails are unique case-insensitively in every script, on both backends: the key is
-- the email lowercased by the service (Unicode rules), as SQLite's lower() folds ASCII
-- letters only. Existing rows take that lower() (their non-ASCII letters keep their case).
ALTER TABLE users ADD COLUMN email_key TEXT NOT NULL DEFAULT '';
UPDATE users SET email_key = lower(email);
DROP INDEX users_email_lower_key;
CREATE UNIQUE INDEX users_email_key_key ON users (email_key);
