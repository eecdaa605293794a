//! SEC-01 (issue 19, finding 5): a client holding many sockets cannot take a node offline.
//! Idle and half-sent connections are closed after the header-read timeout, one client holds at
//! most its share of connections, and the node raises
//! its soft limit of open files to the hard limit, so a thousand idle sockets under the usual
//! soft limit of 1,024 do not stop it from answering.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use ideaweave_testkit::TestApp;

/// Sends a whole request on a new connection and returns the status line (waiting at most a
/// minute: a node that cannot accept the connection does not answer).
fn status_line(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut line = String::new();
    BufReader::new(s)
        .read_line(&mut line)
        .expect("the node answers");
    line
}

/// Reads until the server closes the connection (or the timeout runs out): whether it did.
fn closed_by_server(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_01_half_sent_and_idle_connections_are_closed_after_the_header_timeout() {
    let t = TestApp::spawn_with(|c| {
        c.http_limits.header_read_timeout = Duration::from_secs(1);
    })
    .await;
    let addr = t.base.trim_start_matches("http://").to_owned();
    tokio::task::spawn_blocking(move || {
        let mut half = TcpStream::connect(&addr).unwrap();
        half.write_all(b"GET /healthz HTTP/1.1\r\nHost: slow")
            .unwrap();
        let mut idle = TcpStream::connect(&addr).unwrap();
        assert!(
            closed_by_server(&mut half, Duration::from_secs(30)),
            "a half-sent request keeps its connection"
        );
        assert!(
            closed_by_server(&mut idle, Duration::from_secs(30)),
            "an idle connection is kept"
        );
        assert!(status_line(&addr, "/healthz").contains(" 200 "));
    })
    .await
    .unwrap();
}

#[test]
fn sec_01_a_thousand_idle_sockets_under_a_soft_limit_of_1024_do_not_take_a_node_offline() {
    // This test's own sockets need more than 1,024 descriptors too.
    let ours = rlimit::increase_nofile_limit(4096).unwrap();
    assert!(ours >= 2048, "the test needs 2,048 open files, has {ours}");
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(r#"ulimit -Sn 1024 && exec "$0" serve --listen 127.0.0.1:0 --data-dir "$1""#)
        .arg(env!("CARGO_BIN_EXE_ideaweave"))
        .arg(dir.path())
        .env_remove("RUST_LOG")
        // Longer than the test: the idle sockets stay open while the node is asked to answer.
        .env("IDEAWEAVE_HTTP__HEADER_TIMEOUT_SECONDS", "300")
        // Every socket here comes from one address; this test is about descriptors, the
        // per-client cap has its own.
        .env("IDEAWEAVE_HTTP__MAX_CONNECTIONS_PER_CLIENT", "2000")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("the node printed its address").unwrap();
        if let Some(rest) = line.strip_prefix("Ideaweave is listening on ") {
            break rest
                .split_whitespace()
                .next()
                .unwrap()
                .trim_start_matches("http://")
                .to_owned();
        }
    };
    let idle: Vec<TcpStream> = (0..1100)
        .map(|_| TcpStream::connect(&addr).expect("connect"))
        .collect();
    let line = status_line(&addr, "/healthz");
    assert!(
        line.contains(" 200 "),
        "with 1,100 idle sockets open the node answers: {line}"
    );
    drop(idle);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// SEC-01 (issue 19, finding 13): what the server keeps on disk is for its own user only: the
/// data directory, uploads and backup staging 0700, the database, uploaded files, the shred
/// ledger and the audit anchor 0600, whatever the umask.
#[cfg(unix)]
#[tokio::test]
async fn sec_01_data_files_are_private_to_the_server_user() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestApp::spawn().await;
    let w = t.workspace("private").await;
    let d = crate::helpers::open_discussion(&t, &w.slug, &w.owner.token).await;
    let (st, idea) = crate::helpers::with_token(
        &t,
        "POST",
        &format!("/workspaces/{}/discussions/{d}/ideas", w.slug),
        &w.owner.token,
        Some(serde_json::json!({"title": "private", "body": "", "tags": []})),
    )
    .await;
    assert_eq!(st, 201, "{idea}");
    let (st, _) = crate::helpers::call(
        &t,
        "POST",
        &format!(
            "/workspaces/{}/ideas/{}/attachments",
            w.slug,
            idea["id"].as_str().unwrap()
        ),
        &crate::helpers::Auth::Token(w.owner.token.clone()),
        crate::helpers::Body::Upload {
            filename: "p.png",
            bytes: crate::helpers::png(),
        },
    )
    .await;
    assert_eq!(st, 201);
    let member = t.member(&w, "gone", ideaweave_domain::Role::Member).await;
    crate::helpers::anonymise(&t, &w, member.id).await;
    t.app.sign_audit_checkpoint().await.unwrap();
    let target = tempfile::tempdir().unwrap();
    let backups = ideaweave_backup::Backups::new(
        t.app.clone(),
        crate::transfer::backup::settings(
            &t,
            vec![ideaweave_backup::TargetSpec::Dir(target.path().to_owned())],
            &age::x25519::Identity::generate(),
        ),
    )
    .unwrap();
    backups.run(&|_| {}).await.unwrap();

    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let mut checked = 0;
    let mut walk = vec![t.dir.path().to_owned()];
    while let Some(dir) = walk.pop() {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk.push(p);
            } else {
                assert_eq!(mode(&p), 0o600, "{}", p.display());
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 4,
        "the database, an upload, the ledger and the anchor at least"
    );
}

/// SEC-01: one client cannot take every connection slot: beyond its cap its further
/// connections are closed at once, and a connection it gives back can be used again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_01_one_client_holds_at_most_its_share_of_connections() {
    let t = TestApp::spawn_with(|c| {
        c.http_limits.max_connections_per_client = 4;
        c.http_limits.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let addr = t.base.trim_start_matches("http://").to_owned();
    tokio::task::spawn_blocking(move || {
        let mut held: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(&addr).unwrap()).collect();
        // The accept loop takes them in turn: let it count all four before the fifth.
        std::thread::sleep(Duration::from_millis(300));
        let mut fifth = TcpStream::connect(&addr).unwrap();
        assert!(
            closed_by_server(&mut fifth, Duration::from_secs(10)),
            "a fifth connection from the same client is closed"
        );
        drop(held.pop());
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            status_line(&addr, "/healthz").contains(" 200 "),
            "a freed slot serves again"
        );
        drop(held);
    })
    .await
    .unwrap();
}
