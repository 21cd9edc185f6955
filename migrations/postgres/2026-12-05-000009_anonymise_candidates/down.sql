DROP INDEX referrals_candidate_created;
ALTER TABLE referrals DROP COLUMN anonymised_at;
