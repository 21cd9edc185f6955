DROP TABLE sso_requests;
ALTER TABLE sessions DROP COLUMN method;
DROP INDEX users_sso_subject;
ALTER TABLE users DROP COLUMN sso_subject;
