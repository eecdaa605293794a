//! The server's log as it would be written, captured in memory for tests that check what a
//! failure logs (the cause chain, the request id, the route).
//!
//! The capture is the process's global subscriber, installed on first use: every test in the
//! binary then logs into it, so a test finds its own lines by its request id, and the erasure
//! canary scan (DSR-03) sees everything any test logged. Our own crates, the HTTP layer, the
//! database driver and the mailer log at their most verbose; the connection internals of hyper,
//! h2 and rustls (bytes and frames, no application data) only from `info`, so that capturing
//! does not slow every parallel test down.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// Most bytes kept. Beyond it nothing more is kept and the capture says it was truncated, so a
/// scan that needs everything fails instead of passing on half the log.
const KEEP_BYTES: usize = 512 * 1024 * 1024;

/// What tracing logs, and at which levels.
const FILTER: &str = "info,ideaweave=trace,tower_http=trace,axum=trace,sqlx=trace,lettre=trace";

#[derive(Default)]
struct Buffer {
    bytes: Vec<u8>,
    truncated: bool,
}

impl Buffer {
    fn append(&mut self, data: &[u8]) {
        if self.bytes.len() + data.len() > KEEP_BYTES {
            self.truncated = true;
        } else {
            self.bytes.extend_from_slice(data);
        }
    }
}

/// The captured log.
#[derive(Clone)]
pub struct LogCapture(Arc<Mutex<Buffer>>);

struct Writer(Arc<Mutex<Buffer>>);

impl Write for Writer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .append(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The capture, installed as the global subscriber (see the module documentation; no colours)
/// on first call.
pub fn captured_log() -> LogCapture {
    static CAPTURE: OnceLock<LogCapture> = OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let buf = Arc::new(Mutex::new(Buffer::default()));
            let sink = buf.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_env_filter(FILTER)
                .with_ansi(false)
                .with_writer(move || Writer(sink.clone()))
                .finish();
            // Another capture may already be global (then nothing is captured and the test
            // that relies on it fails visibly).
            let _ = tracing::subscriber::set_global_default(subscriber);
            LogCapture(buf)
        })
        .clone()
}

impl LogCapture {
    /// The lines that contain `needle`.
    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        String::from_utf8_lossy(&self.bytes())
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_owned)
            .collect()
    }

    /// Everything captured so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .bytes
            .clone()
    }

    /// Adds output that did not go through tracing (a child process's), so scans see it too.
    pub fn append(&self, data: &[u8]) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .append(data);
    }

    /// Whether something was dropped because the capture was full.
    pub fn truncated(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).truncated
    }
}
