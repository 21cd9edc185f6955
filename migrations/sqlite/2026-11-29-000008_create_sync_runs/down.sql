ALTER TABLE offers DROP COLUMN upstream_run_id;
DROP TABLE sync_runs;
