-- When the sync cancelled the offer because a complete pass no longer saw it
-- upstream; NULL otherwise. A later run that sees it again puts it back:
-- a pass can miss an offer when others are removed upstream while it pages.
ALTER TABLE offers ADD COLUMN vanished_at TIMESTAMP;
-- Offers a run found upstream again after an earlier run had cancelled them.
ALTER TABLE sync_runs ADD COLUMN restored BIGINT NOT NULL DEFAULT 0;
