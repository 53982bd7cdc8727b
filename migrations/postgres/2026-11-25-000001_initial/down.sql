DROP TABLE notifications;
DROP TABLE event_versions;
DROP TABLE event_permissions;
DROP TABLE events;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
