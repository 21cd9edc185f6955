ALTER TABLE referrals DROP COLUMN anonymised_at;
