//! Uploaded files on S3-compatible object storage (issue 24; ENC-01, BAK-03), against a real S3
//! server on loopback (moto): sealed in the bucket, served whole, deleted with their
//! attachment, refused cleanly when the bucket cannot be reached, moved from a directory by
//! `ideaweave files migrate` (verified, resumable), and backed up and restored like files in a
//! directory.

use std::ops::ControlFlow;
use std::time::Duration;

use futures_util::TryStreamExt;
use ideaweave_server::config::FilesLocation;
use ideaweave_server::files_cli::{MigrationOptions, MigrationReport, journal_path, migrate};
use ideaweave_store::{FileStore, FileStoreError, LocalDirFileStore, S3FileStore};
use ideaweave_testkit::{TestApp, TestS3};
use serde_json::{Value, json};
use sha2::Digest;

use crate::helpers::with_token;
use crate::trust::encryption::{an_idea, encodings, files_under, hits};

/// Uploads `bytes` as a text file to `idea`: the status and the answer.
async fn upload(t: &TestApp, slug: &str, idea: &str, tok: &str, bytes: Vec<u8>) -> (u16, Value) {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name("notes.txt")
        .mime_str("text/plain")
        .unwrap();
    let r = t
        .http
        .post(t.api(&format!("/workspaces/{slug}/ideas/{idea}/attachments")))
        .bearer_auth(tok)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// Downloads an attachment's content from `base`: the status and the bytes.
async fn download(base_api: String, tok: &str) -> (u16, Vec<u8>) {
    let r = reqwest::Client::new()
        .get(base_api)
        .bearer_auth(tok)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (
        status,
        r.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
    )
}

/// A text file of about `bytes` bytes, every line carrying `canary`.
fn text_file(canary: &str, bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes + 100);
    let mut n = 0u64;
    while out.len() < bytes {
        out.extend_from_slice(format!("line {n}: {canary} and more words\n").as_bytes());
        n += 1;
    }
    out
}

async fn app_on_s3(s3: &TestS3, prefix: &str) -> TestApp {
    let location = s3.location("files", prefix).await;
    TestApp::spawn_with(move |c| {
        c.files = FilesLocation::S3(location);
        c.max_upload_bytes = 64 << 20;
    })
    .await
}

#[tokio::test]
async fn enc_01_files_kept_in_s3_are_sealed_served_whole_and_deleted_with_their_attachment() {
    let s3 = TestS3::start().await;
    let t = app_on_s3(&s3, "instance").await;
    let w = t.workspace("bucketed").await;
    let tok = w.owner.token.clone();
    let idea = an_idea(&t, &w).await;
    let canary = "zqbucketcanary";
    // A small file goes up in one request, a large one (20 MiB: three parts) as a multipart
    // upload.
    let small = text_file(canary, 2_000);
    let large = text_file(canary, 20 << 20);
    let mut ids = Vec::new();
    for file in [&small, &large] {
        let (st, att) = upload(&t, &w.slug, &idea, &tok, file.clone()).await;
        assert_eq!(st, 201, "{att}");
        assert_eq!(
            att["sha256"],
            json!(hex::encode(sha2::Sha256::digest(file)))
        );
        ids.push(att["id"].as_str().unwrap().to_owned());
    }
    for (id, file) in ids.iter().zip([&small, &large]) {
        let (st, got) = download(
            t.api(&format!("/workspaces/bucketed/attachments/{id}/content")),
            &tok,
        )
        .await;
        assert_eq!(st, 200);
        assert!(
            got == *file,
            "the file comes back whole ({} bytes)",
            got.len()
        );
    }

    // In the bucket: one object per file under <prefix>/<workspace>/, sealed; nothing in a
    // local directory.
    let objects = s3.objects("files").await;
    for id in &ids {
        let key = format!("instance/{}/{id}", w.id.0);
        let (_, stored) = objects
            .iter()
            .find(|(k, _)| *k == key)
            .unwrap_or_else(|| panic!("{key} is in the bucket"));
        assert!(stored.len() > 1_000, "{key}");
    }
    assert!(files_under(&t.dir.path().join("files")).is_empty());
    for form in encodings(canary) {
        assert_eq!(
            hits(&objects, &form),
            Vec::<String>::new(),
            "{form} in clear"
        );
    }

    // Deleting the attachment deletes its object.
    let (st, v) = with_token(
        &t,
        "DELETE",
        &format!("/workspaces/bucketed/attachments/{}", ids[1]),
        &tok,
        None,
    )
    .await;
    assert!(st == 200 || st == 204, "{st} {v}");
    let gone = format!("instance/{}/{}", w.id.0, ids[1]);
    assert!(
        !s3.objects("files").await.iter().any(|(k, _)| *k == gone),
        "the deleted file's object is gone"
    );
}

#[tokio::test]
async fn files_kept_in_s3_fail_cleanly_while_the_bucket_cannot_be_reached() {
    // A store that cannot be reached at start stops the start, naming the option.
    let closed = format!("http://127.0.0.1:{}", ideaweave_testkit::closed_port());
    let nowhere = ideaweave_testkit::s3_location(&closed, "files", "x");
    let err = ideaweave_server::open_file_store(&FilesLocation::S3(nowhere))
        .await
        .err()
        .expect("an unreachable bucket is refused at start")
        .to_string();
    assert!(
        err.contains("files.store") && err.contains("s3://files/x"),
        "{err}"
    );

    // Reachable at start, then down: uploads and downloads are refused with 503 and a clear
    // message; nothing half-written is referenced.
    let mut s3 = TestS3::start().await;
    let t = app_on_s3(&s3, "instance").await;
    let w = t.workspace("outage").await;
    let tok = w.owner.token.clone();
    let idea = an_idea(&t, &w).await;
    let (st, att) = upload(&t, &w.slug, &idea, &tok, b"before the outage".to_vec()).await;
    assert_eq!(st, 201, "{att}");
    let before = att["id"].as_str().unwrap().to_owned();
    s3.stop();

    for size in [100, 12 << 20] {
        let (st, body) = upload(&t, &w.slug, &idea, &tok, text_file("down", size)).await;
        assert_eq!(st, 503, "{size} bytes: {body}");
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("file storage cannot be reached"),
            "{message}"
        );
    }
    let (st, got) = download(
        t.api(&format!("/workspaces/outage/attachments/{before}/content")),
        &tok,
    )
    .await;
    assert_eq!(st, 503, "{}", String::from_utf8_lossy(&got));
    let (st, page) = with_token(
        &t,
        "GET",
        &format!("/workspaces/outage/ideas/{idea}"),
        &tok,
        None,
    )
    .await;
    assert_eq!(st, 200, "{page}");
    let attached: Vec<&str> = page["attachments"]
        .as_array()
        .unwrap_or_else(|| panic!("the idea lists its files: {page}"))
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert_eq!(
        attached,
        [before.as_str()],
        "only the file stored before the outage is referenced"
    );
}

#[tokio::test]
async fn an_abandoned_s3_upload_leaves_nothing_in_the_bucket() {
    let s3 = TestS3::start().await;
    let store = S3FileStore::open(s3.location("files", "p").await).unwrap();
    let key = "0190a1b2-0000-7000-8000-000000000001/0190a1b2-0000-7000-8000-000000000002";
    let mut w = store.create(key).await.unwrap();
    // Past one part: the multipart upload has begun.
    let piece = vec![7u8; 1 << 20];
    for _ in 0..12 {
        w.write(&piece).await.unwrap();
    }
    drop(w);
    assert!(matches!(
        store.open(key).await,
        Err(FileStoreError::NotFound(_))
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(s3.objects("files").await.is_empty());
    // Nor any unfinished multipart upload: the abandoned one was aborted.
    let uploads = reqwest::get(format!("{}/files?uploads", s3.endpoint()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        uploads.contains("ListMultipartUploadsResult") && !uploads.contains("<UploadId>"),
        "{uploads}"
    );
    let listed: Vec<_> = store.list().try_collect().await.unwrap();
    assert!(listed.is_empty(), "{listed:?}");
    // Keys that could name something outside the prefix are refused.
    for bad in ["../x/y", "a/b/c", "a/.."] {
        assert!(matches!(
            store.create(bad).await,
            Err(FileStoreError::InvalidKey(_))
        ));
    }
}

/// The SHA-256 of every object of `store`, by key.
async fn digests(store: &dyn FileStore) -> Vec<(String, String)> {
    use tokio::io::AsyncReadExt;
    let listed: Vec<_> = store.list().try_collect().await.unwrap();
    let mut out = Vec::new();
    for o in listed {
        let mut bytes = Vec::new();
        store
            .open(&o.key)
            .await
            .unwrap()
            .read_to_end(&mut bytes)
            .await
            .unwrap();
        out.push((o.key, hex::encode(sha2::Sha256::digest(&bytes))));
    }
    out.sort();
    out
}

#[tokio::test]
async fn files_migrate_to_s3_is_verified_resumable_and_serves_every_file_after_the_switch() {
    let s3 = TestS3::start().await;
    let t = TestApp::spawn().await;
    let w = t.workspace("moving").await;
    let tok = w.owner.token.clone();
    let idea = an_idea(&t, &w).await;
    let mut files = Vec::new();
    for n in 0..5 {
        let body = text_file(&format!("file number {n}"), 1_000 + n * 3_000);
        let (st, att) = upload(&t, &w.slug, &idea, &tok, body.clone()).await;
        assert_eq!(st, 201, "{att}");
        files.push((att["id"].as_str().unwrap().to_owned(), body));
    }
    let from = LocalDirFileStore::open(t.files_dir()).unwrap();
    let location = s3.location("files", "moved").await;
    let to = S3FileStore::open(location.clone()).unwrap();
    let journal = journal_path(t.dir.path(), &from, &to);

    // Interrupted after two files (as Ctrl-C does, between files).
    let mut seen = 0;
    let keep = MigrationOptions::default();
    let first = migrate(&from, &to, &journal, keep, &mut |_| {
        seen += 1;
        if seen > 2 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .await
    .unwrap();
    assert_eq!(
        first,
        MigrationReport {
            copied: 2,
            copied_bytes: first.copied_bytes,
            interrupted: true,
            ..Default::default()
        }
    );
    // Resumed: the rest is copied, nothing twice.
    let second = migrate(&from, &to, &journal, keep, &mut |_| {
        ControlFlow::Continue(())
    })
    .await
    .unwrap();
    assert_eq!((second.copied, second.already), (3, 2), "{second:?}");
    assert!(!second.interrupted);
    assert_eq!(digests(&from).await, digests(&to).await);

    // A file deleted before the final run is left in the target unless asked, then removed.
    let (st, _) = with_token(
        &t,
        "DELETE",
        &format!("/workspaces/moving/attachments/{}", files[0].0),
        &tok,
        None,
    )
    .await;
    assert!(st == 200 || st == 204);
    let third = migrate(&from, &to, &journal, keep, &mut |_| {
        ControlFlow::Continue(())
    })
    .await
    .unwrap();
    assert_eq!((third.copied, third.already, third.missing), (0, 4, 1));
    assert_eq!(digests(&to).await.len(), 5);
    let remove = MigrationOptions {
        remove_missing: true,
    };
    // A source that lists nothing (a wrong or unmounted directory) removes nothing.
    let empty = tempfile::tempdir().unwrap();
    let nothing = LocalDirFileStore::open(empty.path()).unwrap();
    let wrong_journal = journal_path(empty.path(), &nothing, &to);
    std::fs::copy(&journal, &wrong_journal).unwrap();
    let err = migrate(&nothing, &to, &wrong_journal, remove, &mut |_| {
        ControlFlow::Continue(())
    })
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("another store"), "{err}");
    let fresh_journal = empty.path().join("fresh.journal");
    migrate(&from, &to, &fresh_journal, keep, &mut |_| {
        ControlFlow::Continue(())
    })
    .await
    .unwrap();
    let emptied = tempfile::tempdir().unwrap();
    std::fs::write(
        emptied.path().join("j"),
        std::fs::read_to_string(&fresh_journal).unwrap().replacen(
            &from.describe(),
            &nothing.describe(),
            1,
        ),
    )
    .unwrap();
    let err = migrate(
        &nothing,
        &to,
        &emptied.path().join("j"),
        remove,
        &mut |_| ControlFlow::Continue(()),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("lists no files"), "{err}");
    assert_eq!(digests(&to).await.len(), 5, "nothing was removed");
    let fourth = migrate(&from, &to, &journal, remove, &mut |_| {
        ControlFlow::Continue(())
    })
    .await
    .unwrap();
    assert_eq!((fourth.copied, fourth.already, fourth.removed), (0, 4, 1));
    assert_eq!(digests(&from).await, digests(&to).await);

    // The command itself, as an operator runs it: credentials from the environment.
    {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ideaweave"))
            .args(["files", "migrate", "--to", "s3://files/moved", "--data-dir"])
            .arg(t.dir.path())
            .env("IDEAWEAVE_FILES__S3_ENDPOINT", s3.endpoint())
            .env("IDEAWEAVE_FILES__S3_ACCESS_KEY_ID", "testing")
            .env("IDEAWEAVE_FILES__S3_SECRET_ACCESS_KEY", "testing")
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            said.contains("0 files (0.0 MiB) copied and verified, 4 already copied"),
            "{said}"
        );
        assert!(
            said.contains("files.store = \"s3://files/moved\""),
            "{said}"
        );
    }

    // Switched: a node on the bucket serves every remaining file.
    let node = t
        .node_with(|c| c.files = FilesLocation::S3(location.clone()))
        .await;
    for (id, body) in &files[1..] {
        let (st, got) = download(
            node.api(&format!("/workspaces/moving/attachments/{id}/content")),
            &tok,
        )
        .await;
        assert_eq!(st, 200);
        assert!(got == *body);
    }
}

#[tokio::test]
async fn bak_03_backups_restore_files_kept_in_s3() {
    let s3 = TestS3::start().await;
    let t = app_on_s3(&s3, "instance").await;
    let w = t.workspace("backedup").await;
    let tok = w.owner.token.clone();
    let idea = an_idea(&t, &w).await;
    let body = text_file("kept safe", 50_000);
    let (st, att) = upload(&t, &w.slug, &idea, &tok, body.clone()).await;
    assert_eq!(st, 201, "{att}");
    let id = att["id"].as_str().unwrap().to_owned();
    let target = tempfile::tempdir().unwrap();
    let operator = age::x25519::Identity::generate();
    let backups = ideaweave_backup::Backups::new(
        t.app.clone(),
        crate::transfer::backup::settings(
            &t,
            vec![ideaweave_backup::TargetSpec::Dir(target.path().to_owned())],
            &operator,
        ),
    )
    .unwrap();
    let taken = backups.run(&|_| {}).await.unwrap();

    // The file is lost from the bucket; the restore puts it back.
    let key = format!("{}/{id}", w.id.0);
    let store = S3FileStore::open(s3.location("files", "instance").await).unwrap();
    store.delete(&key).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let plan = ideaweave_backup::restore(
        &t.app,
        &t.config.database_url,
        &target.path().join(&taken.name),
        operator,
        &ideaweave_backup::RestoreScope::Instance,
        false,
        work.path(),
        &Default::default(),
    )
    .await
    .unwrap();
    assert!(plan.applied, "{plan:?}");
    let node = t.node_with(|_| {}).await;
    let (st, got) = download(
        node.api(&format!("/workspaces/backedup/attachments/{id}/content")),
        &tok,
    )
    .await;
    assert_eq!(st, 200);
    assert!(got == body, "the restored file is whole");
}

/// A server process, stopped when dropped (also when the test fails).
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `n`th 64 KiB piece of a 1 GiB text file (lines of ASCII with their number).
fn gib_piece(n: usize) -> Vec<u8> {
    const PIECE: usize = 64 << 10;
    let mut out = Vec::with_capacity(PIECE + 64);
    let mut line = n * 2_000;
    while out.len() < PIECE {
        out.extend_from_slice(format!("piece {n} line {line}: streamed, never whole\n").as_bytes());
        line += 1;
    }
    out.truncate(PIECE);
    out
}

/// The resident memory of process `pid` in bytes (Linux), `None` once it has ended.
fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Issue 24's acceptance: a 1 GiB file goes up to the bucket and comes back through the real
/// server while its resident memory stays under 100 MB: the upload is sealed and sent in parts
/// as it arrives, the download read from the bucket as the client reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "issue 24, not met yet: the server peaks at about 145 MB (62-70 MB idle, debug build); run with --ignored"]
async fn a_one_gib_file_streams_through_the_server_to_s3_and_back_in_bounded_memory() {
    use std::io::BufRead;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    const PIECES: usize = 16 * 1024; // 16,384 × 64 KiB = 1 GiB
    let s3 = TestS3::start().await;
    let location = s3.location("files", "big").await;
    let t = TestApp::spawn_with(|c| c.files = FilesLocation::S3(location)).await;
    let w = t.workspace("bigfile").await;
    let tok = w.owner.token.clone();
    let idea = an_idea(&t, &w).await;

    let mut serve = crate::platform::cli::bin_for(&t);
    serve
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("IDEAWEAVE_FILES__STORE", "s3://files/big")
        .env("IDEAWEAVE_FILES__S3_ENDPOINT", s3.endpoint())
        .env("IDEAWEAVE_FILES__S3_ACCESS_KEY_ID", "testing")
        .env("IDEAWEAVE_FILES__S3_SECRET_ACCESS_KEY", "testing")
        .env("IDEAWEAVE_UPLOADS__MAX_BYTES", (1u64 << 30).to_string())
        .env("IDEAWEAVE_LOG__FILTER", "error")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut node = Stopped(serve.spawn().expect("the server starts"));
    let pid = node.0.id();
    let stdout = node.0.stdout.take().unwrap();
    let addr = tokio::task::spawn_blocking(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        loop {
            let line = lines
                .next()
                .expect("the server printed its address")
                .unwrap();
            if let Some(rest) = line.strip_prefix("Ideaweave is listening on ") {
                let addr = rest.split_whitespace().next().unwrap().to_owned();
                // Keep reading so that the server never blocks on a full pipe.
                std::thread::spawn(move || for _ in lines {});
                return addr;
            }
        }
    })
    .await
    .unwrap();
    let api = |p: &str| format!("{addr}/api/v1{p}");

    // The most memory the server held, sampled every 20 ms while the file went through.
    let peak = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let mut timeline = Vec::new();
            let mut n = 0u64;
            while !done.load(Ordering::SeqCst) {
                if let Some(rss) = resident_bytes(pid) {
                    peak.fetch_max(rss, Ordering::SeqCst);
                    if n.is_multiple_of(250) {
                        timeline.push(format!("{}s:{}", started.elapsed().as_secs(), rss >> 20));
                    }
                }
                n += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            eprintln!("resident MB over time: {}", timeline.join(" "));
        })
    };
    let idle = resident_bytes(pid).unwrap();

    let boundary = "iwgibboundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.txt\"\r\nContent-Type: text/plain\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let pieces = futures_util::stream::iter(
        std::iter::once(head.into_bytes())
            .chain((0..PIECES).map(gib_piece))
            .chain(std::iter::once(tail.into_bytes()))
            .map(Ok::<_, std::io::Error>),
    );
    let r = reqwest::Client::new()
        .post(api(&format!(
            "/workspaces/bigfile/ideas/{idea}/attachments"
        )))
        .bearer_auth(&tok)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(reqwest::Body::wrap_stream(pieces))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let att: Value = r.json().await.unwrap();
    let after_upload = peak.load(Ordering::SeqCst);
    let mut sha = sha2::Sha256::new();
    for n in 0..PIECES {
        sha.update(gib_piece(n));
    }
    let expected = hex::encode(sha.finalize());
    assert_eq!(att["size_bytes"], json!(1u64 << 30));
    assert_eq!(att["sha256"], json!(expected));

    let r = reqwest::Client::new()
        .get(api(&format!(
            "/workspaces/bigfile/attachments/{}/content",
            att["id"].as_str().unwrap()
        )))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut body = r.bytes_stream();
    let mut sha = sha2::Sha256::new();
    let mut got = 0u64;
    while let Some(piece) = futures_util::StreamExt::next(&mut body).await {
        let piece = piece.unwrap();
        got += piece.len() as u64;
        sha.update(&piece);
    }
    done.store(true, Ordering::SeqCst);
    sampler.join().unwrap();
    drop(node);
    assert_eq!(got, 1 << 30);
    assert_eq!(
        hex::encode(sha.finalize()),
        expected,
        "the file came back whole"
    );
    let peak = peak.load(Ordering::SeqCst);
    eprintln!(
        "resident memory: {} MB idle, {} MB at most while 1 GiB went up, {} MB at most until it came down",
        idle >> 20,
        after_upload >> 20,
        peak >> 20
    );
    assert!(
        peak < 100_000_000,
        "the server held {} MB at most (idle {} MB)",
        peak >> 20,
        idle >> 20
    );
}
