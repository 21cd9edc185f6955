-- Agencies of the territory, upserted from config/agencies.toml at every start.
CREATE TABLE agencies (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    mailbox TEXT NOT NULL
);
