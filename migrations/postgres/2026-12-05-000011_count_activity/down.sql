DROP INDEX referrals_created;
DROP INDEX referrals_answered;
DROP INDEX audit_action_at;
DROP TABLE searches;
