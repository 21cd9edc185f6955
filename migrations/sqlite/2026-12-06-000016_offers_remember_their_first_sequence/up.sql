-- The feed sequence of the offer's creation: the search index cannot hold
-- an offer created after its last applied change, and its indexer then
-- looks for no older version to replace. Offers stored before this column
-- get 0, as if they could be anywhere in the index.
ALTER TABLE offers ADD COLUMN first_sequence BIGINT NOT NULL DEFAULT 0;
