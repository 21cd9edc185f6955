ALTER TABLE sync_runs DROP COLUMN restored;
ALTER TABLE offers DROP COLUMN vanished_at;
