ALTER TABLE sync_runs DROP COLUMN alive_at;
