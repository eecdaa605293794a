//! The server's log as it would be written, captured in memory for tests that check what a
//! failure logs (the cause chain, the request id, the route).
//!
//! The capture is the process's global subscriber, installed on first use: every test in the
//! binary then logs into it, so a test finds its own lines by its request id.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// Most bytes kept; the older half is dropped beyond it, so a long run cannot grow it unbounded.
const KEEP_BYTES: usize = 8 * 1024 * 1024;

/// The captured log.
#[derive(Clone)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

struct Writer(Arc<Mutex<Vec<u8>>>);

impl Write for Writer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut buf = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if buf.len() + data.len() > KEEP_BYTES {
            let half = buf.len() / 2;
            buf.drain(..half);
        }
        buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The capture, installed as the global subscriber (INFO and above, no colours) on first call.
pub fn captured_log() -> LogCapture {
    static CAPTURE: OnceLock<LogCapture> = OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let buf = Arc::new(Mutex::new(Vec::new()));
            let sink = buf.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
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
        let buf = self.0.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&buf)
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_owned)
            .collect()
    }
}
