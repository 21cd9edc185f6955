-- Offers: the whole document for display, what is listed or filtered on in columns.
CREATE TABLE offers (
    id TEXT PRIMARY KEY NOT NULL,
    agency_code TEXT NOT NULL REFERENCES agencies (code),
    status TEXT NOT NULL,
    title TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    contract_type TEXT,
    rome_code TEXT,
    commune TEXT,
    department TEXT,
    published BOOLEAN NOT NULL,
    with_preselection BOOLEAN NOT NULL,
    aided_contract BOOLEAN NOT NULL,
    iae BOOLEAN NOT NULL,
    document TEXT NOT NULL,
    -- Position in the change feed the search index follows.
    sequence BIGINT NOT NULL,
    received_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX offers_sequence ON offers (sequence);
CREATE INDEX offers_agency_status ON offers (agency_code, status);

-- The change feed's counter: one row, bumped by every offer write. On
-- PostgreSQL its row lock makes writers commit in sequence order.
CREATE TABLE offer_feed (
    id INTEGER PRIMARY KEY NOT NULL,
    last_sequence BIGINT NOT NULL
);
INSERT INTO offer_feed (id, last_sequence) VALUES (1, 0);

-- API keys of the source system and search clients, stored hashed.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE UNIQUE INDEX api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL;
