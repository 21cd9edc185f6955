-- Mail waiting to leave, written in the same transaction as the event it
-- reports; a worker delivers it, retrying with backoff, and records how it went.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX outbox_status_next ON outbox (status, next_attempt_at);

-- When the person was last warned that their idle account will be suspended.
ALTER TABLE users ADD COLUMN inactivity_warned_at TIMESTAMP;
