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
diesel::allow_tables_to_appear_in_same_query!(agencies, offers);
