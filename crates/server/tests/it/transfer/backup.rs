//! Backups (BAK-01…BAK-05, ENC-04): taken under write load and restored to exactly their
//! snapshot, opaque to anyone without an identity yet opened by the standard `age` tool, every
//! fault detected and never counted as good, the missing-backup alert on every channel, and
//! erased people staying erased when an older backup is restored.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ideaweave_backup::{
    BackupError, BackupSettings, Backups, RestoreScope, Retention, Schedule, TargetSpec,
    check_missing, instance_identity,
};
use ideaweave_domain::Role;
use ideaweave_testkit::{TestApp, TestDb, test_db};
use serde_json::{Value, json};

use crate::helpers::{open_discussion, with_token};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// Backup settings for `t`: the operator's recipient, a target directory, default schedule.
pub(crate) fn settings(
    t: &TestApp,
    targets: Vec<TargetSpec>,
    operator: &age::x25519::Identity,
) -> BackupSettings {
    BackupSettings {
        recipients: vec![operator.to_public()],
        targets,
        schedule: Schedule::parse(Schedule::DEFAULT).unwrap(),
        retention: Retention::default(),
        grace_ms: 3_600_000,
        staging_dir: t.dir.path().join("backup-staging"),
        max_bytes_per_second: None,
        alert_webhook: None,
        alert_emails: Vec::new(),
        config_text: "test configuration".into(),
        database_url: t.config.database_url.clone(),
    }
}

fn dir_target(dir: &Path) -> TargetSpec {
    TargetSpec::Dir(dir.to_owned())
}

async fn post_idea(t: &TestApp, slug: &str, d: &str, tok: &str, title: &str) -> String {
    let (st, i) = with_token(
        t,
        "POST",
        &format!("/workspaces/{slug}/discussions/{d}/ideas"),
        tok,
        Some(json!({"title": title, "body": format!("{title}, in detail"), "tags": []})),
    )
    .await;
    assert_eq!(st, 201, "{i}");
    id(&i)
}

/// Attaches a text file to `idea`, as the workspace's owner.
async fn attach_text(
    t: &TestApp,
    w: &ideaweave_testkit::TestWorkspace,
    idea: &str,
    name: &str,
    text: String,
) {
    let part = reqwest::multipart::Part::bytes(text.into_bytes())
        .file_name(name.to_owned())
        .mime_str("text/plain")
        .unwrap();
    let r = t
        .http
        .post(t.api(&format!("/workspaces/{}/ideas/{idea}/attachments", w.slug)))
        .bearer_auth(&w.owner.token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

async fn titles(t: &TestApp, slug: &str, d: &str, tok: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let after = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
        let (st, list) = with_token(
            t,
            "GET",
            &format!("/workspaces/{slug}/discussions/{d}/ideas?limit=100{after}"),
            tok,
            None,
        )
        .await;
        assert_eq!(st, 200, "{list}");
        out.extend(
            list["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["title"].as_str().unwrap().to_owned()),
        );
        match list.get("next_cursor").and_then(|c| c.as_str()) {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    out.sort();
    out
}

async fn title_of(t: &TestApp, slug: &str, idea: &str, tok: &str) -> String {
    let (st, v) = with_token(
        t,
        "GET",
        &format!("/workspaces/{slug}/ideas/{idea}"),
        tok,
        None,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    v["title"].as_str().unwrap().to_owned()
}

async fn own_identity(t: &TestApp) -> age::x25519::Identity {
    let seed = t
        .app
        .keyring()
        .backup_identity_seed(t.app.store(), t.app.now_ms())
        .await
        .unwrap();
    instance_identity(&seed).unwrap()
}

/// A fresh instance with `t`'s master key and shred ledger: where a lost instance is restored.
async fn fresh_instance(t: &TestApp, keep: &Path) -> TestApp {
    let master = t.config.master_key.clone();
    let ledger = t.config.shred_ledger.clone();
    let file = keep.join("restored.db");
    TestApp::spawn_with(move |c| {
        c.master_key = master;
        c.shred_ledger = ledger;
        if test_db() == TestDb::Sqlite {
            c.database_url = format!("sqlite://{}", file.display());
        }
    })
    .await
}

/// The same database as `t`, started again (fresh caches, as after a restart).
async fn restarted(t: &TestApp, of: &TestApp) -> TestApp {
    let (url, master, ledger) = (
        of.config.database_url.clone(),
        t.config.master_key.clone(),
        t.config.shred_ledger.clone(),
    );
    TestApp::spawn_with(move |c| {
        c.database_url = url;
        c.master_key = master;
        c.shred_ledger = ledger;
    })
    .await
}

fn object_in(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bak_01_a_backup_under_write_load_restores_to_exactly_its_snapshot() {
    let t = TestApp::spawn().await;
    let w = t.workspace("loaded").await;
    let tok = w.owner.token.clone();
    let target = tempfile::tempdir().unwrap();
    let operator = age::x25519::Identity::generate();
    let backups = Backups::new(
        t.app.clone(),
        settings(&t, vec![dir_target(target.path())], &operator),
    )
    .unwrap();

    // Three writers post ideas one after another, each into a discussion of its own, each
    // remembering when each was acknowledged; they go on until after the backup has finished,
    // however long that takes on a slow machine (the cap only bounds a hung backup).
    const CAP: u32 = 9_999;
    let stop = Arc::new(AtomicBool::new(false));
    let finished_at = Arc::new(OnceLock::<Instant>::new());
    let writing_after = Arc::new(AtomicUsize::new(0));
    let t = Arc::new(t);
    let mut writers = Vec::new();
    let mut discussions = Vec::new();
    for k in 0..3 {
        let d = open_discussion(&t, &w.slug, &tok).await;
        discussions.push(d.clone());
        let (t, stop, slug, tok) = (t.clone(), stop.clone(), w.slug.clone(), tok.clone());
        let (finished_at, writing_after) = (finished_at.clone(), writing_after.clone());
        writers.push(tokio::spawn(async move {
            let mut acked: Vec<(u32, Instant, Instant)> = Vec::new();
            let mut i = 0;
            let mut counted = false;
            while !stop.load(Ordering::SeqCst) && i < CAP {
                let started = Instant::now();
                if !counted && finished_at.get().is_some_and(|end| started > *end) {
                    counted = true;
                    writing_after.fetch_add(1, Ordering::SeqCst);
                }
                post_idea(&t, &slug, &d, &tok, &format!("w{k}-{i:04}")).await;
                acked.push((i, started, Instant::now()));
                i += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let backup_started = Instant::now();
    let report = backups
        .run(&|_| {})
        .await
        .expect("the backup under load verifies");
    let backup_ended = Instant::now();
    finished_at.set(backup_ended).unwrap();
    // Each writer sends at least one more idea after the backup; a slow post is waited for.
    let deadline = Instant::now() + Duration::from_secs(120);
    while writing_after.load(Ordering::SeqCst) < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let mut acked = Vec::new();
    for w in writers {
        acked.push(w.await.unwrap());
    }
    assert!(
        acked
            .iter()
            .all(|a| a.iter().any(|(_, started, _)| *started > backup_ended)),
        "the writers were still writing when the backup finished"
    );

    // Restored elsewhere (a lost instance), then started again.
    let keep = tempfile::tempdir().unwrap();
    let target_app = fresh_instance(&t, keep.path()).await;
    let object = object_in(target.path(), &report.name);
    let plan = ideaweave_backup::restore(
        &target_app.app,
        &target_app.config.database_url,
        &object,
        operator.clone(),
        &RestoreScope::Instance,
        false,
        &keep.path().join("work"),
        &Default::default(),
    )
    .await
    .expect("restores");
    assert!(plan.applied);
    let restored = restarted(&t, &target_app).await;

    // No torn state: each writer's ideas are a prefix of what it wrote (the snapshot is one
    // point in commit order), every idea acknowledged before the backup started is there,
    // and nothing sent after the backup finished is.
    let mut restored_ideas = 0;
    for (k, writes) in acked.iter().enumerate() {
        let got = titles(&restored, &w.slug, &discussions[k], &tok).await;
        let n = got.len() as u32;
        let expected: Vec<String> = (0..n).map(|i| format!("w{k}-{i:04}")).collect();
        assert_eq!(got, expected, "writer {k}");
        for (i, started, acked_at) in writes {
            if *acked_at < backup_started {
                assert!(
                    *i < n,
                    "w{k}-{i} was committed before the backup and is missing"
                );
            }
            if *started > backup_ended {
                assert!(*i >= n, "w{k}-{i} was sent after the backup and is in it");
            }
        }
        restored_ideas += got.len();
    }
    // Exactly the snapshot: every table of the restored instance has the digest the backup
    // recorded for it at snapshot time (aside from the record of backups and the journals,
    // where the restore itself is recorded after the snapshot's entries).
    let trailer = {
        let out = std::process::Command::new("age")
            .args(["-d", "-i"])
            .arg({
                let f = keep.path().join("operator.key");
                std::fs::write(
                    &f,
                    format!(
                        "{}\n",
                        age::secrecy::ExposeSecret::expose_secret(&operator.to_string())
                    ),
                )
                .unwrap();
                f
            })
            .arg(&object)
            .output()
            .unwrap();
        assert!(out.status.success());
        let mut archive = tar::Archive::new(out.stdout.as_slice());
        let mut trailer = None;
        for e in archive.entries().unwrap() {
            let mut e = e.unwrap();
            if e.path().unwrap().to_str() == Some("digest.json") {
                trailer =
                    Some(serde_json::from_reader::<_, ideaweave_backup::Trailer>(&mut e).unwrap());
            }
        }
        trailer.unwrap()
    };
    let digest = restored
        .app
        .store()
        .read()
        .await
        .unwrap()
        .content_digest()
        .await
        .unwrap();
    let mut compared = 0;
    for (table, sha) in &digest.tables {
        let journal = table.starts_with("audit_") || table == "outbox";
        if table.starts_with("backup_") || journal {
            continue;
        }
        assert_eq!(
            trailer.tables.get(table),
            Some(sha),
            "table {table} differs from the snapshot"
        );
        compared += 1;
    }
    assert!(compared > 30, "{compared} tables compared");
    let rows: std::collections::BTreeMap<String, u64> = digest.rows.into_iter().collect();
    assert_eq!(rows.get("ideas"), Some(&(restored_ideas as u64)));
}

#[tokio::test]
async fn bak_02_backups_hold_no_plaintext_and_open_with_the_age_tool() {
    let t = TestApp::spawn().await;
    let w = t.workspace("canaries").await;
    let canary = format!("CANARY{}", uuid::Uuid::new_v4().simple());
    let d = open_discussion(&t, &w.slug, &w.owner.token).await;
    let idea = post_idea(&t, &w.slug, &d, &w.owner.token, &canary).await;
    let (st, _) = with_token(
        &t,
        "POST",
        &format!("/workspaces/{}/ideas/{idea}/comments", w.slug),
        &w.owner.token,
        Some(json!({"body": format!("{canary} in a comment")})),
    )
    .await;
    assert_eq!(st, 201);
    attach_text(
        &t,
        &w,
        &idea,
        &format!("{canary}.txt"),
        format!("{canary} in a file"),
    )
    .await;

    let target = tempfile::tempdir().unwrap();
    let operator = age::x25519::Identity::generate();
    let backups = Backups::new(
        t.app.clone(),
        settings(&t, vec![dir_target(target.path())], &operator),
    )
    .unwrap();
    let report = backups.run(&|_| {}).await.unwrap();
    assert_eq!(report.files, 1);

    // Nothing in the target holds the canary, in clear or in the obvious encodings.
    let mut scanned = 0;
    for e in std::fs::read_dir(target.path()).unwrap() {
        let bytes = std::fs::read(e.unwrap().path()).unwrap();
        for needle in [
            canary.as_bytes().to_vec(),
            hex::encode(&canary).into_bytes(),
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                "a backup object holds the canary"
            );
        }
        scanned += 1;
    }
    assert_eq!(
        scanned, 3,
        "the backup, its record and the shred ledger's copy"
    );

    // The operator's offline identity opens it with Debian's age tool.
    let id_file = target.path().join("..").join(format!("{}.key", report.id));
    std::fs::write(
        &id_file,
        format!(
            "{}\n",
            age::secrecy::ExposeSecret::expose_secret(&operator.to_string())
        ),
    )
    .unwrap();
    let out = std::process::Command::new("age")
        .args(["-d", "-i"])
        .arg(&id_file)
        .arg(target.path().join(&report.name))
        .output()
        .expect("the age tool runs (Debian package age)");
    let _ = std::fs::remove_file(&id_file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut archive = tar::Archive::new(out.stdout.as_slice());
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(names.first().map(String::as_str), Some("backup.json"));
    assert_eq!(names.last().map(String::as_str), Some("digest.json"));
    assert!(names.iter().any(|n| n.starts_with("files/")));
    assert!(names.iter().any(|n| n.starts_with("database/")));
}

#[tokio::test]
async fn bak_04_damaged_missing_or_foreign_backups_are_detected_and_never_count_as_good() {
    let t = TestApp::spawn().await;
    let w = t.workspace("faults").await;
    let d = open_discussion(&t, &w.slug, &w.owner.token).await;
    post_idea(&t, &w.slug, &d, &w.owner.token, "an idea").await;
    let target = tempfile::tempdir().unwrap();
    let operator = age::x25519::Identity::generate();
    let s = settings(&t, vec![dir_target(target.path())], &operator);
    let backups = Backups::new(t.app.clone(), s.clone()).unwrap();
    let good = backups.run(&|_| {}).await.unwrap();
    let object = target.path().join(&good.name);
    let pristine = std::fs::read(&object).unwrap();
    backups
        .verify(&good.name)
        .await
        .expect("the untouched backup verifies");

    // One byte changed, anywhere: the header, the middle, the end.
    for at in [20, pristine.len() / 2, pristine.len() - 3] {
        let mut bytes = pristine.clone();
        bytes[at] ^= 0x01;
        std::fs::write(&object, &bytes).unwrap();
        let err = backups.verify(&good.name).await.unwrap_err();
        assert!(matches!(err, BackupError::Corrupt(_)), "byte {at}: {err}");
    }
    // Cut off.
    std::fs::write(&object, &pristine[..pristine.len() * 2 / 3]).unwrap();
    let err = backups.verify(&good.name).await.unwrap_err().to_string();
    assert!(err.contains("damaged"), "{err}");
    // Gone.
    std::fs::remove_file(&object).unwrap();
    let err = backups.verify(&good.name).await.unwrap_err();
    assert!(matches!(err, BackupError::Missing(..)), "{err}");
    std::fs::write(&object, &pristine).unwrap();
    // A wrong identity.
    let stranger = age::x25519::Identity::generate();
    let work = tempfile::tempdir().unwrap();
    let err = ideaweave_backup::restore(
        &t.app,
        &t.config.database_url,
        &object,
        stranger,
        &RestoreScope::Instance,
        true,
        work.path(),
        &Default::default(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("does not open this backup"), "{err}");

    // A target that cannot be reached: the backup fails, is recorded as failed, alerts, and
    // the next one succeeds.
    let unreachable = TargetSpec::S3(ideaweave_testkit::s3_location(
        &format!("http://127.0.0.1:{}", ideaweave_testkit::closed_port()),
        "backups",
        "",
    ));
    let broken = Backups::new(t.app.clone(), settings(&t, vec![unreachable], &operator)).unwrap();
    let err = broken.run(&|_| {}).await.unwrap_err().to_string();
    assert!(err.contains("backup target s3://backups"), "{err}");
    let health = t.app.backup_health().await.unwrap();
    assert!(health.failed_alert);
    assert_eq!(health.failed_last_day, 1);
    let metrics = t
        .http
        .get(format!("{}/metrics", t.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("ideaweave_backup_alert 1"), "{metrics}");
    let next = backups
        .run(&|_| {})
        .await
        .expect("the next backup succeeds");
    assert!(!t.app.backup_health().await.unwrap().failed_alert);
    let listed = backups.list().await.unwrap();
    assert!(
        listed
            .iter()
            .all(|b| b.sidecar.as_ref().is_some_and(|s| s.verified))
    );
    assert!(listed.iter().any(|b| b.name == next.name));
    let runs = t
        .app
        .store()
        .read()
        .await
        .unwrap()
        .backup_runs(10)
        .await
        .unwrap();
    assert_eq!(runs.iter().filter(|r| r.state == "verified").count(), 2);
    assert_eq!(runs.iter().filter(|r| r.state == "failed").count(), 1);
}

#[tokio::test]
async fn bak_04_a_backup_killed_mid_way_is_never_good_and_the_next_one_succeeds() {
    let t = TestApp::spawn().await;
    let w = t.workspace("killed").await;
    let d = open_discussion(&t, &w.slug, &w.owner.token).await;
    for n in 0..5 {
        post_idea(&t, &w.slug, &d, &w.owner.token, &format!("idea {n}")).await;
    }
    let target = tempfile::tempdir().unwrap();
    let operator = age::x25519::Identity::generate();
    let mut c = crate::platform::cli::bin_for(&t);
    c.args(["backup", "now"])
        .env(
            "IDEAWEAVE_BACKUP__RECIPIENTS",
            operator.to_public().to_string(),
        )
        .env(
            "IDEAWEAVE_BACKUP__TARGETS",
            format!("dir:{}", target.path().display()),
        )
        // Slow enough to be caught in the act.
        .env("IDEAWEAVE_BACKUP__MAX_BYTES_PER_SECOND", "5000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    let staging = t.dir.path().join("backup-staging");
    let deadline = Instant::now() + Duration::from_secs(60);
    let partial = loop {
        let found = std::fs::read_dir(&staging).ok().and_then(|dirs| {
            dirs.flatten().find_map(|d| {
                std::fs::read_dir(d.path())
                    .ok()?
                    .flatten()
                    .find(|f| f.file_name().to_string_lossy().ends_with(".age.partial"))
            })
        });
        if let Some(f) = found {
            break f.path();
        }
        assert!(
            Instant::now() < deadline,
            "the backup never started writing"
        );
        if child.try_wait().unwrap().is_some() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            panic!("the backup ended before it was killed: {err}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(partial.exists());
    let reached: Vec<String> = std::fs::read_dir(target.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != ideaweave_backup::LEDGER_COPY)
        .collect();
    assert!(
        reached.is_empty(),
        "nothing of the backup reached the target: {reached:?}"
    );

    let mut again = crate::platform::cli::bin_for(&t);
    again
        .args(["backup", "now"])
        .env(
            "IDEAWEAVE_BACKUP__RECIPIENTS",
            operator.to_public().to_string(),
        )
        .env(
            "IDEAWEAVE_BACKUP__TARGETS",
            format!("dir:{}", target.path().display()),
        );
    let (ok, out, err) = crate::platform::cli::run(again);
    assert!(ok, "{out}{err}");
    let mut list = crate::platform::cli::bin_for(&t);
    list.args(["backup", "list"])
        .env(
            "IDEAWEAVE_BACKUP__RECIPIENTS",
            operator.to_public().to_string(),
        )
        .env(
            "IDEAWEAVE_BACKUP__TARGETS",
            format!("dir:{}", target.path().display()),
        );
    let (ok, out, err) = crate::platform::cli::run(list);
    assert!(ok, "{err}");
    assert_eq!(
        out.matches(" verified: trial restore ok").count(),
        1,
        "{out}"
    );
    assert!(
        out.contains("interrupted: the process taking it stopped"),
        "{out}"
    );
    assert!(
        !partial.exists(),
        "the next backup cleared what the killed one left"
    );
}

#[tokio::test]
async fn bak_04_a_missing_backup_raises_an_alert_on_every_channel() {
    let smtp = ideaweave_testkit::TestSmtp::start().await;
    let mail = smtp.config();
    let t = TestApp::spawn_with(move |c| c.mail = Some(mail)).await;
    t.app
        .create_user(
            "ops@example.org",
            "Ops",
            Some("a long operator password"),
            true,
        )
        .await
        .unwrap();
    let hook = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/alerts", hook.local_addr().unwrap());
    let received = Arc::new(tokio::sync::Mutex::new(Vec::<String>::new()));
    let sink = received.clone();
    tokio::spawn(async move {
        let app = axum::Router::new().route(
            "/alerts",
            axum::routing::post(move |body: String| {
                let sink = sink.clone();
                async move {
                    sink.lock().await.push(body);
                    "ok"
                }
            }),
        );
        let _ = axum::serve(hook, app).await;
    });
    let target = tempfile::tempdir().unwrap();
    let operator = age::x25519::Identity::generate();
    let mut s = settings(&t, vec![dir_target(target.path())], &operator);
    s.schedule = Schedule::parse("0 * * * *").unwrap();
    s.alert_webhook = Some(hook_url);
    s.alert_emails = vec!["oncall@example.org".into()];

    assert!(
        !check_missing(&t.app, &s).await.unwrap(),
        "nothing is due yet"
    );
    t.clock.advance(Duration::from_secs(3 * 3600));
    assert!(check_missing(&t.app, &s).await.unwrap());
    let metrics = t
        .http
        .get(format!("{}/metrics", t.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("ideaweave_backup_missing 1"), "{metrics}");
    let hooks = received.lock().await.clone();
    assert_eq!(hooks.len(), 1);
    assert!(hooks[0].contains("backup.missing"), "{}", hooks[0]);
    t.clock.advance(Duration::from_secs(60));
    let mailer = ideaweave_server::mail::SmtpMailer::new(&smtp.config()).unwrap();
    let round = t.app.send_due_mail(&mailer, 10).await.unwrap();
    assert_eq!(round.sent, 2, "{round:?}");
    for to in ["ops@example.org", "oncall@example.org"] {
        let m = smtp.wait_for(to).await;
        assert!(m.contains("Ideaweave backup missing"), "{m}");
    }
    // Told once, not at every check.
    assert!(check_missing(&t.app, &s).await.unwrap());
    assert_eq!(received.lock().await.len(), 1);

    // A verified backup ends it.
    let backups = Backups::new(t.app.clone(), s.clone()).unwrap();
    backups.run(&|_| {}).await.unwrap();
    assert!(!check_missing(&t.app, &s).await.unwrap());
    let metrics = t
        .http
        .get(format!("{}/metrics", t.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("ideaweave_backup_missing 0"), "{metrics}");
    assert!(
        metrics.contains("ideaweave_backup_age_seconds"),
        "{metrics}"
    );
}

#[tokio::test]
async fn enc_04_restoring_a_backup_from_before_an_erasure_leaves_the_member_erased() {
    let t = TestApp::spawn().await;
    let w = t.workspace("rollback").await;
    let other = t.workspace("untouched").await;
    let doomed = t.workspace("doomed").await;
    let alice = t.member(&w, "alice", Role::Member).await;
    let bob = t.member(&w, "bob", Role::Member).await;
    let d = open_discussion(&t, &w.slug, &w.owner.token).await;
    let a = post_idea(&t, &w.slug, &d, &alice.token, "alice's idea").await;
    let b = post_idea(&t, &w.slug, &d, &bob.token, "bob's idea").await;
    let (st, _) = with_token(
        &t,
        "PUT",
        &format!("/workspaces/{}/ideas/{b}/vote", w.slug),
        &alice.token,
        Some(json!({"direction": "up"})),
    )
    .await;
    assert!(st == 200 || st == 204, "{st}");
    let target = tempfile::tempdir().unwrap();
    let operator = age::x25519::Identity::generate();
    let backups = Backups::new(
        t.app.clone(),
        settings(&t, vec![dir_target(target.path())], &operator),
    )
    .unwrap();
    let report = backups.run(&|_| {}).await.unwrap();
    let object = target.path().join(&report.name);

    // After the backup: Alice is erased from the workspace (her account stays), Bob posts
    // again, another workspace changes, and a third is deleted.
    crate::helpers::anonymise(&t, &w, alice.id).await;
    let later = post_idea(&t, &w.slug, &d, &bob.token, "after the backup").await;
    let od = open_discussion(&t, &other.slug, &other.owner.token).await;
    post_idea(&t, &other.slug, &od, &other.owner.token, "kept").await;
    t.app
        .request_termination(
            &doomed.as_member(&doomed.owner),
            ideaweave_app::TerminationInput {
                confirm: doomed.slug.clone(),
            },
        )
        .await
        .unwrap();
    t.clock.advance(Duration::from_secs(15 * 86_400));
    assert_eq!(t.app.run_terminations().await.unwrap().deleted, 1);
    let tok = w.owner.token.clone();

    // A dry run changes nothing.
    let identity = own_identity(&t).await;
    let work = tempfile::tempdir().unwrap();
    let restore = |scope: RestoreScope, dry: bool, dir: &str| {
        let (app, url, object, identity, path) = (
            t.app.clone(),
            t.config.database_url.clone(),
            object.clone(),
            identity.clone(),
            work.path().join(dir),
        );
        async move {
            ideaweave_backup::restore(
                &app,
                &url,
                &object,
                identity,
                &scope,
                dry,
                &path,
                &Default::default(),
            )
            .await
        }
    };
    let plan = restore(RestoreScope::Workspace(w.slug.clone()), true, "dry")
        .await
        .unwrap();
    assert!(!plan.applied);
    assert_eq!(plan.erased_keys, 1, "Alice's data key: {plan:?}");
    assert_eq!(plan.erased_people, 1, "{plan:?}");
    assert_eq!(plan.deleted_workspaces, vec![doomed.slug.clone()]);
    assert_eq!(
        title_of(&t, &w.slug, &later, &tok).await,
        "after the backup"
    );

    // The deleted workspace cannot come back.
    let err = restore(RestoreScope::Workspace(doomed.slug.clone()), true, "doomed")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("was deleted after this backup"), "{err}");

    // Rolled back: the workspace is as it was, except that Alice stays erased: her content
    // unreadable, her membership and her vote's attribution gone.
    let plan = restore(RestoreScope::Workspace(w.slug.clone()), false, "apply")
        .await
        .unwrap();
    assert!(plan.applied);
    let fresh = restarted(&t, &t).await;
    assert_eq!(title_of(&fresh, &w.slug, &b, &tok).await, "bob's idea");
    assert_eq!(
        title_of(&fresh, &w.slug, &a, &tok).await,
        ideaweave_app::ERASED
    );
    let (st, _) = with_token(
        &fresh,
        "GET",
        &format!("/workspaces/{}/ideas/{later}", w.slug),
        &tok,
        None,
    )
    .await;
    assert_eq!(st, 404, "what came after the backup is rolled back");
    let (st, _) = with_token(
        &fresh,
        "GET",
        &format!("/workspaces/{}/ideas/{b}", w.slug),
        &alice.token,
        None,
    )
    .await;
    assert_eq!(st, 401, "Alice's token stays revoked");
    let mut tx = fresh.app.store().read().await.unwrap();
    assert!(
        !tx.is_member(w.id.0, alice.id.0).await.unwrap(),
        "Alice's membership stays gone"
    );
    assert!(
        tx.workspaces_of(alice.id).await.unwrap().is_empty(),
        "nothing in the workspace points at Alice any more"
    );
    drop(tx);
    assert_eq!(
        titles(&fresh, &other.slug, &od, &other.owner.token).await,
        vec!["kept".to_owned()],
        "the other workspace is untouched"
    );
    let report = fresh
        .app
        .verify_audit(None, None, &|_, _| {})
        .await
        .unwrap();
    assert!(report.problem.is_none(), "{report:?}");

    // A whole-instance rollback leaves the deleted workspace deleted too.
    restore(RestoreScope::Instance, false, "instance")
        .await
        .unwrap();
    let mut tx = t.app.store().read().await.unwrap();
    assert!(tx.workspace_by_slug(&doomed.slug).await.unwrap().is_none());
    assert!(!tx.is_member(w.id.0, alice.id.0).await.unwrap());
    drop(tx);

    // Without the shred ledger the backup would bring Alice back: refused.
    std::fs::rename(&t.config.shred_ledger, work.path().join("ledger.moved")).unwrap();
    let err = restore(RestoreScope::Instance, true, "noledger")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("restore the ledger file"), "{err}");
}

#[tokio::test]
async fn bak_03_backups_go_to_s3_compatible_storage_and_a_directory_and_are_pruned() {
    let s3 = ideaweave_testkit::TestS3::start().await;
    let t = TestApp::spawn().await;
    let w = t.workspace("offsite").await;
    let d = open_discussion(&t, &w.slug, &w.owner.token).await;
    post_idea(&t, &w.slug, &d, &w.owner.token, "far away").await;
    let dir = tempfile::tempdir().unwrap();
    let bucket = TargetSpec::S3(s3.location("backups", "instance-a").await);
    let operator = age::x25519::Identity::generate();
    let backups = Backups::new(
        t.app.clone(),
        settings(&t, vec![bucket, dir_target(dir.path())], &operator),
    )
    .unwrap();
    let first = backups.run(&|_| {}).await.unwrap();
    let listed = backups.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, first.name);
    assert!(listed[0].sidecar.as_ref().unwrap().verified);
    assert!(
        dir.path().join(&first.name).exists(),
        "the second target has it too"
    );
    backups.verify(&first.name).await.expect("verifies from S3");

    // 31 days on, the next backup prunes the first from both targets.
    t.clock.advance(Duration::from_secs(31 * 86_400));
    let second = backups.run(&|_| {}).await.unwrap();
    assert_eq!(second.pruned, vec![first.name.clone()]);
    let names: Vec<String> = backups
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(names, vec![second.name.clone()]);
    assert!(!dir.path().join(&first.name).exists());
}

#[tokio::test]
async fn bak_01_the_server_takes_backups_on_its_schedule() {
    let t = TestApp::spawn().await;
    let target = tempfile::tempdir().unwrap();
    let operator = age::x25519::Identity::generate();
    let mut s = settings(&t, vec![dir_target(target.path())], &operator);
    s.schedule = Schedule::parse("0 * * * *").unwrap();
    ideaweave_server::backup_cli::spawn_backups(t.app.clone(), s, Duration::from_millis(50))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        t.app
            .backup_health()
            .await
            .unwrap()
            .last_verified_at_ms
            .is_none(),
        "nothing is due before the hour"
    );
    t.clock.advance(Duration::from_secs(3600));
    let deadline = Instant::now() + Duration::from_secs(60);
    while t
        .app
        .backup_health()
        .await
        .unwrap()
        .last_verified_at_ms
        .is_none()
    {
        assert!(Instant::now() < deadline, "no scheduled backup was taken");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let runs = t
        .app
        .store()
        .read()
        .await
        .unwrap()
        .backup_runs(10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "one backup per scheduled time: {runs:?}");
}

/// Archive entries: name and bytes.
type Entries<'a> = Vec<(&'a str, Vec<u8>)>;

/// An age object holding a tar of `entries`, encrypted to `to`.
fn crafted_backup(path: &Path, to: &age::x25519::Identity, entries: &[(&str, Vec<u8>)]) {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        // The name is written raw: the tar crate refuses to write `..`, an attacker would not.
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        tar.append(&h, data.as_slice()).unwrap();
    }
    let plain = tar.into_inner().unwrap();
    let recipient = to.to_public();
    let enc = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
        .unwrap();
    let mut out = Vec::new();
    let mut w = enc.wrap_output(&mut out).unwrap();
    std::io::Write::write_all(&mut w, &plain).unwrap();
    w.finish().unwrap();
    std::fs::write(path, out).unwrap();
}

#[tokio::test]
async fn bak_05_foreign_or_incompatible_backups_are_refused_with_a_clear_message() {
    let t = TestApp::spawn().await;
    let operator = age::x25519::Identity::generate();
    let work = tempfile::tempdir().unwrap();
    let manifest = |format: &str, database: &str, schema: i64| {
        serde_json::to_vec(&json!({
            "format": format, "id": "0193", "created_at_ms": 0, "created_at": "",
            "program_version": "9.9.9", "database": database, "schema_version": schema,
            "instance_recipient": "",
        }))
        .unwrap()
    };
    let kind = match test_db() {
        TestDb::Sqlite => "sqlite",
        TestDb::Postgres => "postgres",
    };
    let other = match test_db() {
        TestDb::Sqlite => "postgres",
        TestDb::Postgres => "sqlite",
    };
    let cases: Vec<(Entries, &str)> = vec![
        (
            vec![("backup.json", manifest("ideaweave.backup/2", kind, 1))],
            "ideaweave.backup/2",
        ),
        (
            vec![(
                "backup.json",
                manifest(ideaweave_backup::BACKUP_FORMAT, kind, 999),
            )],
            "newer release",
        ),
        (
            vec![(
                "backup.json",
                manifest(ideaweave_backup::BACKUP_FORMAT, other, 1),
            )],
            "the kind of database it was taken from",
        ),
        (
            vec![(
                "backup.json",
                manifest(ideaweave_backup::BACKUP_FORMAT, kind, 1),
            )],
            "incomplete",
        ),
        (
            vec![("notes.txt", b"hello".to_vec())],
            "not an Ideaweave backup",
        ),
        (
            vec![
                (
                    "backup.json",
                    manifest(ideaweave_backup::BACKUP_FORMAT, kind, 1),
                ),
                ("../../etc/passwd", b"x".to_vec()),
            ],
            "unexpected entry",
        ),
    ];
    for (n, (entries, needle)) in cases.into_iter().enumerate() {
        let file = work.path().join(format!("crafted-{n}.age"));
        crafted_backup(&file, &operator, &entries);
        let err = ideaweave_backup::restore(
            &t.app,
            &t.config.database_url,
            &file,
            operator.clone(),
            &RestoreScope::Instance,
            true,
            &work.path().join(format!("w{n}")),
            &Default::default(),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains(needle), "case {n}: {err}");
    }
    let err = ideaweave_backup::restore(
        &t.app,
        &t.config.database_url,
        Path::new("/etc/hostname"),
        operator,
        &RestoreScope::Instance,
        true,
        &work.path().join("plain"),
        &Default::default(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("not an age-encrypted backup"), "{err}");
}

#[tokio::test]
async fn bak_05_the_whole_instance_rolls_back_and_its_audit_log_goes_on() {
    let t = TestApp::spawn().await;
    let w = t.workspace("whole").await;
    let d = open_discussion(&t, &w.slug, &w.owner.token).await;
    let before = post_idea(&t, &w.slug, &d, &w.owner.token, "before").await;
    let target = tempfile::tempdir().unwrap();
    let operator = age::x25519::Identity::generate();
    let backups = Backups::new(
        t.app.clone(),
        settings(&t, vec![dir_target(target.path())], &operator),
    )
    .unwrap();
    let report = backups.run(&|_| {}).await.unwrap();
    let after = post_idea(&t, &w.slug, &d, &w.owner.token, "after").await;
    let late = t.workspace("created-later").await;
    let size_before = t.audit_size().await;

    let work = tempfile::tempdir().unwrap();
    let plan = ideaweave_backup::restore(
        &t.app,
        &t.config.database_url,
        &target.path().join(&report.name),
        own_identity(&t).await,
        &RestoreScope::Instance,
        false,
        work.path(),
        &Default::default(),
    )
    .await
    .unwrap();
    assert!(plan.applied && !plan.journals_from_backup);
    let fresh = restarted(&t, &t).await;
    assert_eq!(
        title_of(&fresh, &w.slug, &before, &w.owner.token).await,
        "before"
    );
    let (st, _) = with_token(
        &fresh,
        "GET",
        &format!("/workspaces/{}/ideas/{after}", w.slug),
        &w.owner.token,
        None,
    )
    .await;
    assert_eq!(st, 404);
    assert!(
        fresh
            .app
            .store()
            .read()
            .await
            .unwrap()
            .workspace_by_slug(&late.slug)
            .await
            .unwrap()
            .is_none(),
        "a workspace created after the backup is gone"
    );
    // The log was not rewound: it grew by the restore's own event and still verifies.
    let head = fresh.audit_size().await;
    assert!(head > size_before, "{head} <= {size_before}");
    let verified = fresh
        .app
        .verify_audit(None, None, &|_, _| {})
        .await
        .unwrap();
    assert!(verified.problem.is_none(), "{verified:?}");
    // The next backup of the restored instance verifies.
    let again = Backups::new(
        fresh.app.clone(),
        settings(&fresh, vec![dir_target(target.path())], &operator),
    )
    .unwrap();
    again
        .run(&|_| {})
        .await
        .expect("a backup after a restore verifies");
}

#[tokio::test]
async fn bak_05_the_restore_command_shows_what_changes_and_asks_first() {
    let t = TestApp::spawn().await;
    let w = t.workspace("by-command").await;
    let d = open_discussion(&t, &w.slug, &w.owner.token).await;
    post_idea(&t, &w.slug, &d, &w.owner.token, "kept").await;
    let target = tempfile::tempdir().unwrap();
    let operator = age::x25519::Identity::generate();
    let backups = Backups::new(
        t.app.clone(),
        settings(&t, vec![dir_target(target.path())], &operator),
    )
    .unwrap();
    let report = backups.run(&|_| {}).await.unwrap();
    let gone = post_idea(&t, &w.slug, &d, &w.owner.token, "rolled back").await;
    let cli = |args: &[&str]| {
        let mut c = crate::platform::cli::bin_for(&t);
        c.args(args)
            .env(
                "IDEAWEAVE_BACKUP__RECIPIENTS",
                operator.to_public().to_string(),
            )
            .env(
                "IDEAWEAVE_BACKUP__TARGETS",
                format!("dir:{}", target.path().display()),
            )
            .stdin(std::process::Stdio::null());
        crate::platform::cli::run(c)
    };
    let (ok, out, err) = cli(&["restore", &report.name, "--workspace", &w.slug, "--dry-run"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("would restore") && out.contains("dry run: nothing was changed"),
        "{out}"
    );
    assert!(
        out.contains("ideas"),
        "the tables that change are listed: {out}"
    );
    let (ok, _, err) = cli(&["restore", &report.name, "--workspace", &w.slug]);
    assert!(!ok && err.contains("--yes"), "{err}");
    assert_eq!(
        title_of(&t, &w.slug, &gone, &w.owner.token).await,
        "rolled back"
    );
    let (ok, _, err) = cli(&[
        "restore",
        "ideaweave-20990101T000000Z-000000000000.age",
        "--yes",
    ]);
    assert!(!ok && err.contains("no backup named"), "{err}");
    let (ok, out, err) = cli(&["restore", &report.name, "--workspace", &w.slug, "--yes"]);
    assert!(ok, "{err}");
    assert!(out.contains("restored backup"), "{out}");
    let fresh = restarted(&t, &t).await;
    let (st, _) = with_token(
        &fresh,
        "GET",
        &format!("/workspaces/{}/ideas/{gone}", w.slug),
        &w.owner.token,
        None,
    )
    .await;
    assert_eq!(st, 404);
    let (ok, out, err) = cli(&["backup", "verify", &report.name]);
    assert!(ok && out.contains("trial restore ok"), "{out}{err}");
}

#[tokio::test]
async fn bak_04_a_stored_file_missing_from_the_file_store_fails_the_backup() {
    let t = TestApp::spawn().await;
    let w = t.workspace("lost-file").await;
    let d = open_discussion(&t, &w.slug, &w.owner.token).await;
    let idea = post_idea(&t, &w.slug, &d, &w.owner.token, "with a file").await;
    attach_text(&t, &w, &idea, "notes.txt", "some bytes".into()).await;
    // The file store loses the object (a wrong uploads directory, a disk problem).
    let ws_dir = t.files_dir().join(w.id.0.to_string());
    for f in std::fs::read_dir(&ws_dir).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    let target = tempfile::tempdir().unwrap();
    let operator = age::x25519::Identity::generate();
    let backups = Backups::new(
        t.app.clone(),
        settings(&t, vec![dir_target(target.path())], &operator),
    )
    .unwrap();
    let err = backups.run(&|_| {}).await.unwrap_err().to_string();
    assert!(err.contains("missing from the file store"), "{err}");
    assert!(
        backups.list().await.unwrap().is_empty(),
        "nothing counted as good"
    );
    assert!(t.app.backup_health().await.unwrap().failed_alert);
}

/// That `pat` is erased as `api` (a node's API) shows it to the owner: their token is refused,
/// they are not a member, and their file is gone (404, not a 500 for a key that no longer
/// exists).
async fn assert_erased(
    api: impl Fn(&str) -> String,
    w: &ideaweave_testkit::TestWorkspace,
    pat: &ideaweave_testkit::Person,
    attachment: &str,
    path: &str,
) {
    let http = reqwest::Client::new();
    let get = |url: String, token: &str| {
        let rb = http.get(url).bearer_auth(token);
        async move {
            let r = rb.send().await.expect("request");
            let status = r.status().as_u16();
            (status, r.text().await.unwrap_or_default())
        }
    };
    let (st, body) = get(api(&format!("/workspaces/{}", w.slug)), &pat.token).await;
    assert_eq!(
        st, 401,
        "{path}: the erased person's token works again: {body}"
    );
    let (st, members) = get(
        api(&format!("/workspaces/{}/members", w.slug)),
        &w.owner.token,
    )
    .await;
    assert_eq!(st, 200, "{path}: {members}");
    assert!(
        !members.contains(&pat.id.0.to_string()),
        "{path}: the erased person is a member again: {members}"
    );
    let (st, body) = get(
        api(&format!("/workspaces/{}/attachments/{attachment}", w.slug)),
        &w.owner.token,
    )
    .await;
    assert_eq!(st, 404, "{path}: the erased person's file: {body}");
}

/// ENC-04, DSR-03, BAK-05 (issue 19, findings 1 and 2): a backup taken before an erasure, or a
/// database copied back by hand, never brings the erased person back, whether the shred ledger
/// is there or was lost with the server: the five restore paths, a copy of the ledger whose
/// seal was broken, and a ledger lost for good (refused unless the operator says otherwise).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enc_04_no_restore_path_brings_an_erased_person_back() {
    let t = TestApp::spawn().await;
    let w = t.workspace("paths").await;
    let pat = t.member(&w, "pat", Role::Member).await;
    let d = open_discussion(&t, &w.slug, &w.owner.token).await;
    let idea = post_idea(&t, &w.slug, &d, &pat.token, "pat's idea").await;
    let part = reqwest::multipart::Part::bytes(b"pat's notes".to_vec())
        .file_name("notes.txt")
        .mime_str("text/plain")
        .unwrap();
    let r = t
        .http
        .post(t.api(&format!("/workspaces/{}/ideas/{idea}/attachments", w.slug)))
        .bearer_auth(&pat.token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let attachment = id(&r.json::<Value>().await.unwrap());
    let target = tempfile::tempdir().unwrap();
    let operator = age::x25519::Identity::generate();
    let backup_settings = settings(&t, vec![dir_target(target.path())], &operator);
    let backups = Backups::new(t.app.clone(), backup_settings.clone()).unwrap();
    let before = backups.run(&|_| {}).await.unwrap();
    let (copy_with_ledger, copy_without_ledger) =
        (t.copy_database().await, t.copy_database().await);

    crate::helpers::anonymise(&t, &w, pat.id).await;
    assert_erased(|p| t.api(p), &w, &pat, &attachment, "live").await;
    backups.run(&|_| {}).await.unwrap();
    let object = target.path().join(&before.name);

    // 1. By hand, with the ledger: a node started on the old copy takes Pat out again.
    // 2. By hand, without the ledger (lost with the server): the targets' copy supplies it.
    let lost = tempfile::tempdir().unwrap();
    for (path, copy, ledger) in [
        ("by hand, with the ledger", &copy_with_ledger, None),
        (
            "by hand, without the ledger",
            &copy_without_ledger,
            Some(lost.path().join("shred-ledger.log")),
        ),
    ] {
        let node = t
            .node_with(|c| {
                c.database_url = copy.url.clone();
                if let Some(ledger) = ledger {
                    c.shred_ledger = ledger;
                    c.backup = Some(backup_settings.clone());
                }
            })
            .await;
        assert_erased(|p| node.api(p), &w, &pat, &attachment, path).await;
    }

    // 3. The whole instance, with the ledger.
    let work = tempfile::tempdir().unwrap();
    let plan = ideaweave_backup::restore(
        &t.app,
        &t.config.database_url,
        &object,
        operator.clone(),
        &RestoreScope::Instance,
        false,
        &work.path().join("instance"),
        &Default::default(),
    )
    .await
    .unwrap();
    assert!(plan.applied && plan.erased_people == 1, "{plan:?}");
    let again = restarted(&t, &t).await;
    assert_erased(|p| again.api(p), &w, &pat, &attachment, "whole instance").await;
    drop(again);

    // 4. Into a fresh instance without the ledger: the targets' copy and records supply it.
    let master = t.config.master_key.clone();
    let keep = tempfile::tempdir().unwrap();
    let fresh_db = keep.path().join("fresh.db");
    let fresh = TestApp::spawn_with(|c| {
        c.master_key = master.clone();
        if test_db() == TestDb::Sqlite {
            c.database_url = format!("sqlite://{}", fresh_db.display());
        }
    })
    .await;
    let targets = ideaweave_backup::Targets::open(&[dir_target(target.path())]).unwrap();
    let sync = ideaweave_backup::sync_shred_ledger(fresh.app.keyring(), &targets)
        .await
        .unwrap();
    assert!(sync.added >= 1 && sync.longest_known >= 1, "{sync:?}");
    let guard = ideaweave_backup::LedgerGuard {
        longest_known: sync.longest_known,
        bring_back_erased_people: false,
    };
    ideaweave_backup::restore(
        &fresh.app,
        &fresh.config.database_url,
        &object,
        operator.clone(),
        &RestoreScope::Instance,
        false,
        &work.path().join("fresh"),
        &guard,
    )
    .await
    .unwrap();
    let restored = restarted(&fresh, &fresh).await;
    assert_erased(
        |p| restored.api(p),
        &w,
        &pat,
        &attachment,
        "fresh instance, no ledger",
    )
    .await;
    drop(restored);

    // 5. Without the ledger and without the targets' copy: the records still say how long the
    // ledger was, and the restore is refused unless the operator says otherwise.
    let bare = TestApp::spawn_with(|c| c.master_key = master.clone()).await;
    std::fs::remove_file(target.path().join(ideaweave_backup::LEDGER_COPY)).unwrap();
    let sync = ideaweave_backup::sync_shred_ledger(bare.app.keyring(), &targets)
        .await
        .unwrap();
    assert_eq!((sync.added, sync.local), (0, 0), "{sync:?}");
    assert!(sync.longest_known >= 1, "the records remember: {sync:?}");
    let err = ideaweave_backup::restore(
        &bare.app,
        &bare.config.database_url,
        &object,
        operator.clone(),
        &RestoreScope::Instance,
        true,
        &work.path().join("bare"),
        &ideaweave_backup::LedgerGuard {
            longest_known: sync.longest_known,
            bring_back_erased_people: false,
        },
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("--bring-back-erased-people"), "{err}");

    // A copy of the ledger someone edited in the target (an entry taken out) is refused.
    let copy = target.path().join(ideaweave_backup::LEDGER_COPY);
    ideaweave_backup::sync_shred_ledger(t.app.keyring(), &targets)
        .await
        .unwrap();
    let mut v: Value = serde_json::from_slice(&std::fs::read(&copy).unwrap()).unwrap();
    v["entries"].as_array_mut().unwrap().pop();
    std::fs::write(&copy, serde_json::to_vec(&v).unwrap()).unwrap();
    let err = ideaweave_backup::sync_shred_ledger(bare.app.keyring(), &targets)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not carry this instance's seal"), "{err}");
}

/// BAK-04 (issue 19, finding 13): a backup's record carries a MAC, so an edited record is
/// noticed by `verify` and shown as unreadable by `list`; a backup whose record was deleted
/// does not verify either, as `list` shows it as never finished.
#[tokio::test]
async fn bak_04_an_edited_or_deleted_backup_record_is_noticed() {
    let t = TestApp::spawn().await;
    t.workspace("records").await;
    let target = tempfile::tempdir().unwrap();
    let operator = age::x25519::Identity::generate();
    let backups = Backups::new(
        t.app.clone(),
        settings(&t, vec![dir_target(target.path())], &operator),
    )
    .unwrap();
    let report = backups.run(&|_| {}).await.unwrap();
    backups.verify(&report.name).await.unwrap();
    let record = target.path().join(format!("{}.json", report.name));

    let mut v: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    v["content_digest"] = json!("0".repeat(64));
    std::fs::write(&record, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let err = backups.verify(&report.name).await.unwrap_err().to_string();
    assert!(err.contains("was altered"), "{err}");
    let listed = backups.list().await.unwrap();
    assert!(
        listed[0].sidecar.is_none() && listed[0].sidecar_unreadable,
        "{listed:?}"
    );

    std::fs::remove_file(&record).unwrap();
    let err = backups.verify(&report.name).await.unwrap_err().to_string();
    assert!(err.contains("has no record"), "{err}");
    let listed = backups.list().await.unwrap();
    assert!(
        listed[0].sidecar.is_none() && !listed[0].sidecar_unreadable,
        "{listed:?}"
    );
}
