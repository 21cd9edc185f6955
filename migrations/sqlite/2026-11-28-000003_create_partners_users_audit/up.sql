-- Partner structures (e.g. a PLIE), each bound by an agreement.
CREATE TABLE partners (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    agency_code TEXT NOT NULL REFERENCES agencies (code),
    agreement_start DATE NOT NULL,
    agreement_end DATE NOT NULL,
    -- Accounts that may be active at once, the RGC excluded.
    seats INTEGER NOT NULL,
    offers_service BOOLEAN NOT NULL,
    referrals_service BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Personal accounts. A deleted account keeps its row (history, and a login
-- that is never reused) but loses its personal details.
CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    partner_id TEXT REFERENCES partners (id),
    role TEXT NOT NULL,
    login TEXT NOT NULL UNIQUE,
    full_name TEXT,
    job_title TEXT,
    email TEXT,
    password_hash TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    last_activity_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX users_partner_status ON users (partner_id, status);

-- Append-only trail of who did what, when, on what, from where.
CREATE TABLE audit (
    id TEXT PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_id TEXT,
    partner_id TEXT,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT,
    address TEXT,
    details TEXT NOT NULL
);
CREATE INDEX audit_partner_at ON audit (partner_id, at);
