-- Single sign-on: the provider's stable subject of the person, set the first
-- time they sign in through it (matched then on their verified email), freed
-- when the account is deleted.
ALTER TABLE users ADD COLUMN sso_subject TEXT;
CREATE UNIQUE INDEX users_sso_subject ON users (sso_subject);

-- How a session was opened: "password" or "sso".
ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';

-- Sign-ins sent to the provider and not back yet: keyed by the hash of their
-- `state`, holding the nonce and PKCE verifier the answer is checked against.
-- Each is used once and expires after a few minutes.
CREATE TABLE sso_requests (
    id TEXT PRIMARY KEY NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX sso_requests_created_at ON sso_requests (created_at);
