-- When a candidate's personal data was erased by the retention job: the
-- record stays (activity counts survive), without the person.
ALTER TABLE referrals ADD COLUMN anonymised_at TIMESTAMP;
-- The job looks for each person's latest request.
CREATE INDEX referrals_candidate_created ON referrals (candidate_identifier, created_at);
