ALTER TABLE users DROP COLUMN inactivity_warned_at;
DROP TABLE outbox;
