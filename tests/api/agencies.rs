use crate::on_each_backend;
use relais::agencies;
use relais::startup::Application;

on_each_backend! {
    async fn agencies_are_seeded_once_and_follow_the_configuration(app) {
        let listed = app.database.run(agencies::list).await.unwrap();
        assert_eq!(listed.len(), 6);

        // A second start on the same database adds nothing.
        let mut settings = app.settings.clone();
        settings.index.path = app.dir.path().join("index-2");
        let again = Application::build(settings).await.unwrap();
        let listed = again.database().run(agencies::list).await.unwrap();
        assert_eq!(listed.len(), 6);
        let pertuis = listed.iter().find(|a| a.code == "84526").unwrap();
        assert_eq!(pertuis.name, "Pertuis");
        assert_eq!(pertuis.mailbox, "recrutementpertuis@pole-emploi.net");

        // A start with another agencies file updates the known one and adds the new one.
        let file = app.dir.path().join("agences.toml");
        std::fs::write(
            &file,
            "[[agency]]\ncode = \"84526\"\nname = \"Pertuis Luberon\"\nmailbox = \"pertuis@example.test\"\n\
             [[agency]]\ncode = \"84007\"\nname = \"Avignon\"\nmailbox = \"avignon@example.test\"\n",
        )
        .unwrap();
        let mut settings = app.settings.clone();
        settings.index.path = app.dir.path().join("index-3");
        settings.agencies.file = file;
        let third = Application::build(settings).await.unwrap();
        let listed = third.database().run(agencies::list).await.unwrap();
        assert_eq!(listed.len(), 7, "agencies no longer configured are kept");
        let pertuis = listed.iter().find(|a| a.code == "84526").unwrap();
        assert_eq!(pertuis.name, "Pertuis Luberon");
        assert_eq!(pertuis.mailbox, "pertuis@example.test");
    }
}
