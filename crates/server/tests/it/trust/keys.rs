//! ENC-02: the master key lives outside the database, in a private file (or the environment),
//! and the server will not start with a missing, foreign or world-readable key.

use ideaweave_testkit::TestApp;

use crate::platform::cli::{bin_for, run};

fn key_file(t: &TestApp) -> std::path::PathBuf {
    t.dir.path().join("master.key")
}

#[tokio::test]
async fn enc_02_master_key_file_is_private_and_outside_the_database() {
    let t = TestApp::spawn().await;
    t.workspace("keyed").await;
    let path = key_file(&t);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let hex = text
        .lines()
        .find_map(|l| l.strip_prefix("1:"))
        .expect("a version-1 key")
        .trim()
        .to_owned();
    assert_eq!(hex.len(), 64);
    if ideaweave_testkit::test_db() == ideaweave_testkit::TestDb::Sqlite {
        let raw = std::fs::read(t.dir.path().join("ideaweave.db")).unwrap();
        let key: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        assert!(
            !raw.windows(32).any(|w| w == key.as_slice()),
            "the master key is not in the database file"
        );
        assert!(!raw.windows(hex.len()).any(|w| w == hex.as_bytes()));
    }
    let mut c = bin_for(&t);
    c.args(["keys", "status"]);
    let (ok, out, err) = run(c);
    assert!(ok, "{err}");
    assert!(
        out.contains("master.key") && out.contains("master version 1 wraps 1 workspace key(s)"),
        "{out}"
    );
}

#[tokio::test]
async fn enc_02_start_refuses_missing_foreign_or_readable_key_files() {
    let t = TestApp::spawn().await;
    t.workspace("guarded").await;
    let path = key_file(&t);
    let original = std::fs::read_to_string(&path).unwrap();
    let start = || {
        let mut c = bin_for(&t);
        c.args(["workspace", "list"]);
        run(c)
    };
    assert!(start().0, "starts with its own key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (ok, _, err) = start();
        assert!(!ok && err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::remove_file(&path).unwrap();
    let (ok, _, err) = start();
    assert!(
        !ok && err.contains("does not exist, but the database holds keys"),
        "{err}"
    );
    assert!(
        !path.exists(),
        "no new key is made for a database that has keys"
    );
    let mut foreign = std::fs::OpenOptions::new();
    foreign.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        foreign.mode(0o600);
    }
    use std::io::Write;
    foreign
        .open(&path)
        .unwrap()
        .write_all(format!("1:{}\n", "ab".repeat(32)).as_bytes())
        .unwrap();
    let (ok, _, err) = start();
    assert!(!ok && err.contains("does not open the keys"), "{err}");
    assert!(!err.contains(&"ab".repeat(32)), "the key is never printed");
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, original).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    assert!(start().0, "the right key file, restored, works again");
}

/// ENC-02 (issue 19, finding 13): on a database that holds keys, a missing or wrong master key
/// stops the start before any migration moves its schema, so the database stays as the older
/// release left it.
#[tokio::test]
async fn enc_02_a_missing_master_key_stops_the_start_before_any_migration() {
    let t = TestApp::spawn().await;
    t.workspace("older").await;
    t.app.store().migrate_to(20).await.unwrap();
    let applied = |t: &TestApp| {
        let store = t.app.store().clone();
        async move {
            store
                .migration_state()
                .await
                .unwrap()
                .migrations
                .iter()
                .filter(|m| m.applied)
                .map(|m| m.version)
                .max()
        }
    };
    assert_eq!(applied(&t).await, Some(20));
    let elsewhere = tempfile::tempdir().unwrap();
    let mut config = t.config.clone();
    config.master_key =
        ideaweave_server::config::MasterKeySource::File(elsewhere.path().join("master.key"));
    let err = match ideaweave_server::build_app(&config, t.clock.clone()).await {
        Ok(_) => panic!("started without its master key"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("does not exist"), "{err}");
    assert_eq!(
        applied(&t).await,
        Some(20),
        "the schema was not migrated before the key was checked"
    );
    assert!(
        !elsewhere.path().join("master.key").exists(),
        "no key was made"
    );
}
