ALTER TABLE offers DROP COLUMN first_sequence;
