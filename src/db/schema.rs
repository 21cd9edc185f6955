// One hand-written schema for both backends: portable column types only.

diesel::table! {
    agencies (code) {
        code -> Text,
        name -> Text,
        mailbox -> Text,
    }
}

diesel::table! {
    offers (id) {
        id -> Text,
        agency_code -> Text,
        status -> Text,
        title -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        contract_type -> Nullable<Text>,
        rome_code -> Nullable<Text>,
        commune -> Nullable<Text>,
        department -> Nullable<Text>,
        published -> Bool,
        with_preselection -> Bool,
        aided_contract -> Bool,
        iae -> Bool,
        document -> Text,
        sequence -> BigInt,
        received_at -> Timestamp,
        upstream_run_id -> Nullable<Text>,
        vanished_at -> Nullable<Timestamp>,
        first_sequence -> BigInt,
    }
}

diesel::table! {
    offer_feed (id) {
        id -> Integer,
        last_sequence -> BigInt,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        name -> Text,
        scope -> Text,
        key_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(offers -> agencies (agency_code));

diesel::table! {
    partners (id) {
        id -> Text,
        name -> Text,
        agency_code -> Text,
        agreement_start -> Date,
        agreement_end -> Date,
        seats -> Integer,
        offers_service -> Bool,
        referrals_service -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        partner_id -> Nullable<Text>,
        role -> Text,
        login -> Text,
        full_name -> Nullable<Text>,
        job_title -> Nullable<Text>,
        email -> Nullable<Text>,
        password_hash -> Text,
        must_change_password -> Bool,
        status -> Text,
        last_activity_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        inactivity_warned_at -> Nullable<Timestamp>,
        sso_subject -> Nullable<Text>,
        activated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit (id) {
        id -> Text,
        at -> Timestamp,
        actor_id -> Nullable<Text>,
        partner_id -> Nullable<Text>,
        action -> Text,
        object_type -> Text,
        object_id -> Nullable<Text>,
        address -> Nullable<Text>,
        details -> Text,
    }
}

diesel::joinable!(partners -> agencies (agency_code));
diesel::joinable!(users -> partners (partner_id));

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        address -> Nullable<Text>,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        method -> Text,
    }
}

diesel::table! {
    sso_requests (id) {
        id -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    login_attempts (id) {
        id -> Text,
        login -> Text,
        address -> Text,
        at -> Timestamp,
        succeeded -> Bool,
    }
}

diesel::joinable!(sessions -> users (user_id));

diesel::table! {
    outbox (id) {
        id -> Text,
        recipient -> Text,
        subject -> Text,
        body -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        partner_id -> Nullable<Text>,
    }
}

diesel::table! {
    referrals (id) {
        id -> Text,
        reference -> Text,
        kind -> Text,
        partner_id -> Text,
        coach_id -> Text,
        offer_id -> Text,
        agency_code -> Text,
        offer_title -> Text,
        company -> Nullable<Text>,
        contract -> Nullable<Text>,
        place -> Nullable<Text>,
        offer_document -> Text,
        candidate_last_name -> Text,
        candidate_first_name -> Text,
        candidate_identifier -> Text,
        candidate_email -> Nullable<Text>,
        candidate_phone -> Nullable<Text>,
        idempotency_key -> Text,
        created_at -> Timestamp,
        link_digest -> Nullable<Text>,
        link_expires_at -> Nullable<Timestamp>,
        message_id -> Nullable<Text>,
        answer -> Nullable<Text>,
        answer_reason -> Nullable<Text>,
        answered_at -> Nullable<Timestamp>,
        anonymised_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(referrals -> users (coach_id));
diesel::joinable!(referrals -> agencies (agency_code));
diesel::table! {
    sync_runs (id) {
        id -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        status -> Text,
        requests -> BigInt,
        fetched -> BigInt,
        created -> BigInt,
        updated -> BigInt,
        unchanged -> BigInt,
        rejected -> BigInt,
        out_of_territory -> BigInt,
        cancelled -> BigInt,
        error -> Nullable<Text>,
        restored -> BigInt,
        alive_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    searches (id) {
        id -> Text,
        at -> Timestamp,
        month -> Text,
        partner_id -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    announcements (id) {
        id -> Text,
        message -> Text,
        maintenance -> Bool,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        published_at -> Timestamp,
        published_by -> Text,
        withdrawn_at -> Nullable<Timestamp>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    agencies, offers, partners, users, sessions, referrals, outbox, sync_runs, searches
);
