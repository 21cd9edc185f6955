// One hand-written schema for both backends: portable column types only.

diesel::table! {
    agencies (code) {
        code -> Text,
        name -> Text,
        mailbox -> Text,
    }
}
