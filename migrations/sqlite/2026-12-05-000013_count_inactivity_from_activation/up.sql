-- When an account was last activated or reactivated: inactivity counts from
-- the later of this and its last activity, so that an account the RGC
-- reactivates is not suspended again at the next run of the job.
ALTER TABLE users ADD COLUMN activated_at TIMESTAMP;
