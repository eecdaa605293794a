//! A real SMTP server for tests: Python's aiosmtpd on a free loopback port, writing every
//! message that arrives to a Maildir the test reads.
//!
//! `cargo xtask test` installs aiosmtpd into `target/pydeps` and passes that directory as
//! `IW_TEST_PYTHONPATH`; a plain `cargo test` finds it there too.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ideaweave_server::config::{MailConfig, SmtpTls};

/// An SMTP server that stops when dropped.
pub struct TestSmtp {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    maildir: tempfile::TempDir,
}

/// A loopback port nothing listens on (for a mail server that is down).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// The first line a peer prints (its address), read on a thread of its own so that a peer
/// that hangs fails the test after `within` instead of stopping the run; what it prints after
/// is read and dropped (a closed pipe would stop it at its next line). `None` when the peer
/// ended first or took too long.
pub fn first_line(
    out: impl std::io::Read + Send + 'static,
    within: std::time::Duration,
) -> Option<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(out).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = tx.send(line);
        }
        for _ in lines {}
    });
    rx.recv_timeout(within).ok()
}

/// Where the Python peers of the tests are installed (`target/pydeps`, or `IW_TEST_PYTHONPATH`).
pub fn pythonpath() -> Option<String> {
    std::env::var("IW_TEST_PYTHONPATH").ok().or_else(|| {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/pydeps");
        p.is_dir().then(|| p.display().to_string())
    })
}

impl TestSmtp {
    /// Starts the server and waits until it accepts connections.
    pub async fn start() -> Self {
        let port = closed_port();
        let maildir = tempfile::tempdir().expect("maildir");
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(p) = pythonpath() {
            cmd.env("PYTHONPATH", p);
        }
        let child = cmd
            .spawn()
            .expect("python3 is needed for the SMTP test server");
        let mut smtp = Self {
            child,
            port,
            maildir,
        };
        // Python's start-up on a loaded machine can take a while.
        let deadline = Instant::now() + Duration::from_secs(90);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if let Ok(Some(status)) = smtp.child.try_wait() {
                panic!(
                    "the SMTP test server exited ({status}); install aiosmtpd (cargo xtask test does: pip install --target target/pydeps aiosmtpd)"
                );
            }
            assert!(
                Instant::now() < deadline,
                "the SMTP test server did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        smtp
    }

    /// The mail settings that send to this server.
    pub fn config(&self) -> MailConfig {
        mail_config(self.port)
    }

    /// Every message that arrived, raw.
    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.path().join("mail").join(sub)) {
                for e in entries.flatten() {
                    if let Ok(text) = std::fs::read_to_string(e.path()) {
                        out.push(text);
                    }
                }
            }
        }
        out
    }

    /// The first message to `to`, waiting up to 30 seconds for it (the Python server writes
    /// its maildir slowly when the whole suite loads the machine).
    pub async fn wait_for(&self, to: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(m) = self
                .messages()
                .into_iter()
                .find(|m| m.lines().any(|l| l.starts_with("To:") && l.contains(to)))
            {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "no message to {to} arrived at the SMTP server"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for TestSmtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Plain SMTP to 127.0.0.1:`port`.
pub fn mail_config(port: u16) -> MailConfig {
    MailConfig {
        host: "127.0.0.1".into(),
        port,
        tls: SmtpTls::None,
        credentials: None,
        from: "Ideaweave <noreply@ideaweave.test>".into(),
    }
}

/// Undoes quoted-printable encoding (soft line breaks and `=XX` escapes), for reading message
/// bodies.
pub fn decode_quoted_printable(s: &str) -> String {
    let joined = s.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
