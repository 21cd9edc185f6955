ALTER TABLE outbox DROP COLUMN partner_id;
DROP TABLE referrals;
