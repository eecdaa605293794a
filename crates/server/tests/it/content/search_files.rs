//! COL-05, ENC-01: the text inside uploaded files is found by search, never stored in clear,
//! and hostile files cannot stall the server: each is read in a child process with limits and,
//! when it cannot be read, recorded as such with a reason and found by its name only.
//!
//! The documents are made by real libraries (`tests/search/make_documents.py`: python-docx,
//! openpyxl, odfpy, fpdf2, installed into target/pydeps by `cargo xtask test`).

use std::time::{Duration, Instant};

use ideaweave_testkit::TestApp;
use serde_json::json;

use super::search::{index_now, search_as};
use crate::helpers::{Auth, Body, call, call_json, open_discussion};
use crate::trust::encryption::{encodings, files_under, hits};

/// Writes the test documents into a new directory, each carrying `canary`, and the hostile
/// ones too if asked.
fn make_documents(canary: &str, hostile: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let made = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/search/make_documents.py"
        ))
        .arg(dir.path())
        .arg(canary)
        .args(hostile.then_some("--hostile"))
        .env(
            "PYTHONPATH",
            ideaweave_testkit::pythonpath().unwrap_or_default(),
        )
        .status()
        .expect("python3 runs");
    assert!(
        made.success(),
        "python-docx, openpyxl, odfpy and fpdf2 are installed in target/pydeps"
    );
    dir
}

/// Posts an idea in `slug` and uploads each named file of `dir` to it; returns their ids by
/// name.
async fn upload_all(
    t: &TestApp,
    slug: &str,
    auth: &Auth,
    dir: &std::path::Path,
    names: &[&'static str],
) -> Vec<(&'static str, String)> {
    let Auth::Token(token) = auth else {
        panic!("a token")
    };
    let d = open_discussion(t, slug, token).await;
    let (st, idea) = call_json(
        t,
        auth,
        "POST",
        &format!("/workspaces/{slug}/discussions/{d}/ideas"),
        json!({"title": "Documents", "body": "See the files.", "tags": []}),
    )
    .await;
    assert_eq!(st, 201, "{idea}");
    let idea = idea["id"].as_str().unwrap().to_owned();
    let mut out = Vec::new();
    for name in names {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let (st, v) = call(
            t,
            "POST",
            &format!("/workspaces/{slug}/ideas/{idea}/attachments"),
            auth,
            Body::Upload {
                filename: name,
                bytes,
            },
        )
        .await;
        assert_eq!(st, 201, "{name}: {v}");
        out.push((*name, v["id"].as_str().unwrap().to_owned()));
    }
    out
}

/// What the server answered while it indexed.
#[derive(Debug)]
struct Asked {
    took: Duration,
    answered: usize,
    slowest: Duration,
}

/// Indexes in the background, as the server does, and keeps asking something else meanwhile:
/// every answer must come (a bound for liveness, far above normal latency: the figures are in
/// BENCHMARKS.md). The round must index without failure.
async fn index_while_asking(t: &TestApp, slug: &str, auth: &Auth) -> Asked {
    let app = t.app.clone();
    let started = Instant::now();
    let indexing = tokio::spawn(async move { app.run_search_indexing("test-node").await });
    let mut asked = Asked {
        took: Duration::ZERO,
        answered: 0,
        slowest: Duration::ZERO,
    };
    while !indexing.is_finished() {
        let at = Instant::now();
        let (st, v) = call(t, "GET", &format!("/workspaces/{slug}"), auth, Body::None).await;
        assert_eq!(st, 200, "{v}");
        asked.slowest = asked.slowest.max(at.elapsed());
        asked.answered += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let round = indexing.await.unwrap().unwrap();
    assert_eq!(round.failed, 0, "{round:?}");
    asked.took = started.elapsed();
    asked
}

#[tokio::test]
async fn col_05_enc_01_text_inside_real_documents_is_found_and_never_stored_in_clear() {
    let t = TestApp::spawn().await;
    documents_are_found_and_nowhere_in_clear(&t, None).await;
}

/// The same with the file store on S3-compatible storage (issue 24): the uploads and the
/// sealed search index live in the bucket, which is scanned as well.
#[tokio::test]
async fn col_05_enc_01_text_inside_documents_kept_in_s3_is_found_and_never_stored_in_clear() {
    let s3 = ideaweave_testkit::TestS3::start().await;
    let location = s3.location("files", "instance").await;
    let t = TestApp::spawn_with(|c| {
        c.files = ideaweave_server::config::FilesLocation::S3(location);
    })
    .await;
    documents_are_found_and_nowhere_in_clear(&t, Some(&s3)).await;
}

/// Uploads real documents carrying a canary, finds each by it, and scans every store for it:
/// the database (or its dump), the data directory, and the bucket when files are kept in one.
async fn documents_are_found_and_nowhere_in_clear(
    t: &TestApp,
    s3: Option<&ideaweave_testkit::TestS3>,
) {
    let canary = "zqfilecontentcanary";
    let docs = make_documents(canary, false);
    let w = t.workspace("filetexts").await;
    let owner = Auth::Token(w.owner.token.clone());
    let names = [
        "canary.pdf",
        "canary.docx",
        "canary.xlsx",
        "canary.odt",
        "canary.ods",
        "canary.odp",
    ];
    let files = upload_all(t, &w.slug, &owner, docs.path(), &names).await;
    index_now(t).await;

    let found = search_as(t, &owner, &w.slug, canary, "&kind=file&limit=50")
        .await
        .unwrap();
    for (name, id) in &files {
        assert!(found.contains(id), "{name}'s text is found: {found:?}");
    }
    // Word forms and phrases work inside files as anywhere else.
    let phrase = search_as(t, &owner, &w.slug, "\"greenhouse heating\"", "")
        .await
        .unwrap();
    assert_eq!(phrase, [files[0].1.clone()], "the PDF's second page");
    let outcomes = t.app.search_file_texts(w.id).await.unwrap();
    assert_eq!(outcomes.len(), names.len(), "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| o.unreadable.is_none() && o.text_bytes > 0),
        "{outcomes:?}"
    );

    // Nowhere in clear, hex or base64: not in the database (or its dump), not in the file
    // store, which holds the uploads and the sealed index.
    let mut stores = t.database_bytes();
    stores.extend(files_under(t.dir.path()));
    match s3 {
        None => stores.extend(files_under(t.files_dir())),
        Some(s3) => {
            let objects = s3.objects("files").await;
            let ws = w.id.0.to_string();
            let prefix = format!("instance/{ws}/");
            assert!(
                objects
                    .iter()
                    .any(|(k, _)| k.starts_with(&prefix) && k.contains("search-")),
                "the sealed index is in the bucket: {:?}",
                objects.iter().map(|(k, _)| k).collect::<Vec<_>>()
            );
            assert!(
                objects.len() > names.len(),
                "every upload and the index are in the bucket"
            );
            assert!(
                files_under(&t.dir.path().join("files")).is_empty(),
                "nothing is kept in a local files directory"
            );
            stores.extend(objects);
        }
    }
    assert!(
        !hits(&stores, "filetexts").is_empty(),
        "the scan reads the right bytes: the slug is stored in clear by design"
    );
    for form in encodings(canary) {
        assert_eq!(
            hits(&stores, &form),
            Vec::<String>::new(),
            "{canary} was found in clear (as {form})"
        );
    }
}

#[tokio::test]
async fn col_05_hostile_files_are_recorded_unreadable_while_the_server_keeps_answering() {
    let docs = make_documents("harmless", true);
    let t = TestApp::spawn_with(|c| c.max_upload_bytes = 64 * 1024 * 1024).await;
    let w = t.workspace("hostile").await;
    let owner = Auth::Token(w.owner.token.clone());
    let names = ["bomb.docx", "loop.pdf", "truncated.pdf", "big.txt"];
    let files = upload_all(&t, &w.slug, &owner, docs.path(), &names).await;

    let asked = index_while_asking(&t, &w.slug, &owner).await;
    assert!(
        asked.slowest < Duration::from_secs(2),
        "the server kept answering while the files were read: {asked:?}"
    );

    let reason_of = |outcomes: &[ideaweave_app::FileTextOutcome], id: &str| {
        outcomes
            .iter()
            .find(|o| o.attachment.to_string() == id)
            .and_then(|o| o.unreadable.clone())
    };
    let outcomes = t.app.search_file_texts(w.id).await.unwrap();
    let expected = [
        ("bomb.docx", "archive_too_large"),
        ("loop.pdf", "malformed"),
        ("truncated.pdf", "malformed"),
        ("big.txt", "too_large"),
    ];
    for ((name, id), (_, why)) in files.iter().zip(expected) {
        assert_eq!(
            reason_of(&outcomes, id).as_deref(),
            Some(why),
            "{name}: {outcomes:?}"
        );
    }
    // Each is still found by its name.
    for (q, (name, id)) in ["bomb", "loop", "truncated", "big"].iter().zip(&files) {
        let found = search_as(&t, &owner, &w.slug, q, "&kind=file")
            .await
            .unwrap();
        assert_eq!(found, std::slice::from_ref(id), "{name} by its name");
    }
    let status = t.app.search_status().await.unwrap();
    let mine = status.iter().find(|s| s.workspace == w.id.0).unwrap();
    assert_eq!(mine.unreadable_files, 4);

    // A rebuild does not read them again: one bounded attempt per hostile file.
    let before: Vec<i64> = outcomes.iter().map(|o| o.checked_at).collect();
    t.clock.advance(Duration::from_secs(60));
    t.app
        .rebuild_search_index(w.id, "test-node", &mut |_, _| {})
        .await
        .unwrap();
    let after: Vec<i64> = t
        .app
        .search_file_texts(w.id)
        .await
        .unwrap()
        .iter()
        .map(|o| o.checked_at)
        .collect();
    assert_eq!(before, after);

    // Once the operator raised a limit, they are read again on request.
    assert_eq!(t.app.retry_unreadable_files(w.id).await.unwrap(), 4);
    assert!(t.app.search_file_texts(w.id).await.unwrap().is_empty());
    t.clock.advance(Duration::from_secs(60));
    index_now(&t).await;
    let again = t.app.search_file_texts(w.id).await.unwrap();
    assert_eq!(again.len(), 4, "{again:?}");
    assert!(
        again
            .iter()
            .all(|o| o.unreadable.is_some() && !before.contains(&o.checked_at)),
        "read again: {again:?}"
    );
}

/// A program standing in for the reader that never finishes: it reads its input and waits.
fn stuck_reader(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("stuck-reader");
    std::fs::write(&path, "#!/bin/sh\ncat > /dev/null\nsleep 60\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test]
async fn col_05_a_reader_that_never_finishes_is_stopped_while_the_server_keeps_answering() {
    let dir = tempfile::tempdir().unwrap();
    let program = stuck_reader(dir.path());
    let t = TestApp::spawn_with(move |c| {
        c.text_extraction.program = program;
        // Stopped after 2 × 1 + 5 = 7 s of wall-clock time.
        c.text_extraction.seconds = 1;
    })
    .await;
    let w = t.workspace("stuck").await;
    let owner = Auth::Token(w.owner.token.clone());
    let files_dir = tempfile::tempdir().unwrap();
    std::fs::write(files_dir.path().join("notes.txt"), "slow words").unwrap();
    let files = upload_all(&t, &w.slug, &owner, files_dir.path(), &["notes.txt"]).await;

    let asked = index_while_asking(&t, &w.slug, &owner).await;
    assert!(
        asked.took >= Duration::from_secs(6),
        "the reader ran until its time was up: {asked:?}"
    );
    assert!(asked.answered > 50, "asked all along: {asked:?}");
    assert!(
        asked.slowest < Duration::from_secs(2),
        "the server kept answering while the reader ran: {asked:?}"
    );
    let outcomes = t.app.search_file_texts(w.id).await.unwrap();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].attachment.to_string(), files[0].1);
    assert_eq!(outcomes[0].unreadable.as_deref(), Some("time_limit"));
    let found = search_as(&t, &owner, &w.slug, "notes", "&kind=file")
        .await
        .unwrap();
    assert_eq!(found, [files[0].1.clone()], "found by its name");
}

#[tokio::test]
async fn col_05_a_node_that_cannot_run_the_reader_still_indexes_and_says_so() {
    let t = TestApp::spawn_with(|c| {
        c.text_extraction.program = "/nonexistent/ideaweave".into();
    })
    .await;
    let w = t.workspace("noreader").await;
    let owner = Auth::Token(w.owner.token.clone());
    let files_dir = tempfile::tempdir().unwrap();
    std::fs::write(files_dir.path().join("minutes.txt"), "budget words").unwrap();
    let files = upload_all(&t, &w.slug, &owner, files_dir.path(), &["minutes.txt"]).await;
    index_now(&t).await;
    // The idea and the file's name are found; the file's text is not, and the record says why.
    let found = search_as(&t, &owner, &w.slug, "minutes", "").await.unwrap();
    assert_eq!(found, [files[0].1.clone()]);
    assert!(
        search_as(&t, &owner, &w.slug, "documents", "&kind=idea")
            .await
            .unwrap()
            .len()
            == 1
    );
    let outcomes = t.app.search_file_texts(w.id).await.unwrap();
    assert_eq!(
        outcomes[0].unreadable.as_deref(),
        Some(ideaweave_app::READER_UNAVAILABLE)
    );
    // Not the file's fault: a rebuild tries it again.
    let before = outcomes[0].checked_at;
    t.clock.advance(Duration::from_secs(60));
    t.app
        .rebuild_search_index(w.id, "test-node", &mut |_, _| {})
        .await
        .unwrap();
    let after = t.app.search_file_texts(w.id).await.unwrap();
    assert!(after[0].checked_at > before, "{after:?}");
}

#[test]
fn col_05_the_text_reader_limits_itself_and_says_why_it_refuses() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let run_with = |memory: &str, format: &str, max_input: &str, input: &[u8]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ideaweave"))
            .args(["extract-text", "--format", format])
            .args(["--memory-bytes", memory, "--cpu-seconds", "5"])
            .args(["--max-input-bytes", max_input])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A child that gave up stops reading: its end says why.
        let _ = child.stdin.take().unwrap().write_all(input);
        child.wait_with_output().unwrap()
    };
    let run = |format: &str, max_input: &str, input: &[u8]| {
        run_with("536870912", format, max_input, input)
    };

    let ok = run("text", "100", b"plain words");
    assert!(ok.status.success());
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "plain words");

    let too_large = run("text", "5", b"more than five bytes");
    assert_eq!(too_large.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&too_large.stderr).trim(),
        "ideaweave-extract: too_large"
    );

    // Whatever a parser says about the file stays unsaid: only the reason code.
    let damaged = run("docx", "1000", b"PK\x03\x04 not really a zip");
    assert_eq!(damaged.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&damaged.stderr).trim(),
        "ideaweave-extract: malformed"
    );

    // Its address space is bounded, including what the allocator reserved as the program
    // started (it starts again under its limits): 300 MB of input do not fit in 256 MiB.
    let huge = vec![b'a'; 300 * 1024 * 1024];
    let starved = run_with("268435456", "text", "1073741824", &huge);
    assert_eq!(starved.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&starved.stderr).trim(),
        "ideaweave-extract: memory_limit"
    );
}
