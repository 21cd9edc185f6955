-- The last sign of life of a run: each page it writes. A run is taken for
-- interrupted after an hour without one, however long it has been going,
-- rather than an hour after its start.
ALTER TABLE sync_runs ADD COLUMN alive_at TIMESTAMP;
