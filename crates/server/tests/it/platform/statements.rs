//! Every statement the store writes as a constant prepares on the database under test (both,
//! in `cargo xtask test`): a typo or a renamed column fails here, in seconds, instead of in
//! whichever scenario happens to run that statement (issue 20).

use ideaweave_testkit::TestApp;

#[tokio::test]
async fn every_statement_of_the_store_prepares_on_this_database() {
    let t = TestApp::spawn().await;
    let all = ideaweave_store::statements();
    assert!(
        all.len() > 250,
        "the store's statements are listed ({} found)",
        all.len()
    );
    let other_database = match ideaweave_testkit::test_db() {
        ideaweave_testkit::TestDb::Sqlite => "PG_",
        ideaweave_testkit::TestDb::Postgres => {
            // The table a PostgreSQL restore stages rows in exists only during a restore.
            t.raw_sql(
                "CREATE UNLOGGED TABLE IF NOT EXISTS _iw_stage (tbl TEXT NOT NULL, line TEXT NOT NULL)",
            )
            .await;
            "SQLITE_"
        }
    };
    let here: Vec<_> = all
        .into_iter()
        .filter(|(_, name, _)| !name.starts_with(other_database))
        .collect();
    let refused = t.unpreparable(&here).await;
    assert!(refused.is_empty(), "refused: {refused:#?}");
}

#[tokio::test]
async fn a_broken_statement_is_refused_by_the_check() {
    let t = TestApp::spawn().await;
    let broken = [
        (
            "test",
            "MISSPELT_COLUMN",
            "SELECT titel FROM ideas WHERE workspace_id = $1",
        ),
        (
            "test",
            "MISSING_TABLE",
            "SELECT id FROM idea WHERE workspace_id = $1",
        ),
        ("test", "SYNTAX", "SELEC id FROM ideas"),
    ];
    let refused = t.unpreparable(&broken).await;
    assert_eq!(refused.len(), 3, "{refused:#?}");
}
