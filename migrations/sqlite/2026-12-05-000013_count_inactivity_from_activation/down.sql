ALTER TABLE users DROP COLUMN activated_at;
