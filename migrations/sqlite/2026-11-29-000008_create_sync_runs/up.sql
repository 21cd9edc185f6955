-- Runs of the upstream sync with France Travail: what each fetched and
-- wrote, and why it failed, for the admin's « Synchronisation » page.
CREATE TABLE sync_runs (
    id TEXT PRIMARY KEY NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    -- "running", "succeeded" or "failed".
    status TEXT NOT NULL,
    requests BIGINT NOT NULL,
    fetched BIGINT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    unchanged BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    out_of_territory BIGINT NOT NULL,
    cancelled BIGINT NOT NULL,
    error TEXT
);
CREATE INDEX sync_runs_started ON sync_runs (started_at);

-- The last sync run that saw the offer upstream; NULL for offers that came
-- another way (API, import). After a complete pass, offers last seen by an
-- earlier run have vanished upstream and are cancelled.
ALTER TABLE offers ADD COLUMN upstream_run_id TEXT;
