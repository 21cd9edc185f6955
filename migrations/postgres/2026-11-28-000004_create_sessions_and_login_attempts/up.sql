-- Server-side sessions: the cookie holds a random token, the table its hash,
-- so that a session can be ended at once (logout, deactivation, suspension).
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    address TEXT,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP
);
CREATE INDEX sessions_user ON sessions (user_id, ended_at);

-- Login attempts, for throttling by login and by address.
CREATE TABLE login_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    login TEXT NOT NULL,
    address TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    succeeded BOOLEAN NOT NULL
);
CREATE INDEX login_attempts_login_at ON login_attempts (login, at);
CREATE INDEX login_attempts_address_at ON login_attempts (address, at);
