-- Activity follow-up: one row per search a partner's account runs from the
-- search page (no criteria, only who and when), counted by month. Logins,
-- mises en relation, contact requests and answers are counted from the
-- audit trail and the referrals themselves.
CREATE TABLE searches (
    id TEXT PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL,
    month TEXT NOT NULL,
    partner_id TEXT NOT NULL REFERENCES partners (id),
    user_id TEXT NOT NULL REFERENCES users (id)
);
CREATE INDEX searches_partner_month ON searches (partner_id, month);
CREATE INDEX searches_month ON searches (month);
-- Logins of every partner in a period, for the platform admin.
CREATE INDEX audit_action_at ON audit (action, at);
-- Requests made and answers given in a period, over every partner.
CREATE INDEX referrals_answered ON referrals (answered_at);
CREATE INDEX referrals_created ON referrals (created_at);
