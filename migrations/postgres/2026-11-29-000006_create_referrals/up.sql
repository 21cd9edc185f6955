-- Mises en relation (offers without preselection) and contact requests
-- (offers with preselection). Each keeps a snapshot of the offer as it was
-- proposed, so that the record and its offer sheet stay readable when the
-- offer changes or disappears.
CREATE TABLE referrals (
    id TEXT PRIMARY KEY NOT NULL,
    -- Shown to people and quoted in mails, e.g. "DC-7K3Q9M2X".
    reference TEXT NOT NULL UNIQUE,
    -- "mise_en_relation" or "demande_contact".
    kind TEXT NOT NULL,
    partner_id TEXT NOT NULL REFERENCES partners (id),
    coach_id TEXT NOT NULL REFERENCES users (id),
    offer_id TEXT NOT NULL,
    agency_code TEXT NOT NULL REFERENCES agencies (code),
    offer_title TEXT NOT NULL,
    company TEXT,
    contract TEXT,
    place TEXT,
    offer_document TEXT NOT NULL,
    candidate_last_name TEXT NOT NULL,
    candidate_first_name TEXT NOT NULL,
    candidate_identifier TEXT NOT NULL,
    -- Only with the candidate's consent.
    candidate_email TEXT,
    candidate_phone TEXT,
    -- One record per submitted form, however many times it is sent.
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    -- Contact requests: the link given to the agency (digest only) and the
    -- message that carries it.
    link_digest TEXT UNIQUE,
    link_expires_at TIMESTAMP,
    message_id TEXT,
    answer TEXT,
    answer_reason TEXT,
    answered_at TIMESTAMP,
    -- The same candidate cannot be put forward twice for the same offer.
    UNIQUE (offer_id, candidate_identifier)
);
CREATE INDEX referrals_partner_created ON referrals (partner_id, created_at);
CREATE INDEX referrals_coach_created ON referrals (coach_id, created_at);

-- Whose message it is: failures are shown to that partner's RGC.
ALTER TABLE outbox ADD COLUMN partner_id TEXT;
