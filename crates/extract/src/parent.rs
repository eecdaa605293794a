//! Running the child and judging what it did.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::child::{EXIT_UNCONFINED, EXIT_UNREADABLE, REASON_PREFIX};
use crate::{ChildLimits, Format, Limits, Unreadable};

/// Signal sent when the processor-time limit is reached.
const SIGXCPU: i32 = 24;
/// The most of the child's standard error read: one reason line, or an allocator's last words.
const STDERR_MAX: u64 = 4096;

/// Why no text came back.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The file could not be read: recorded, and the file is searched by name only.
    #[error("{0}")]
    Unreadable(#[from] Unreadable),
    /// The child could not be run or could not limit itself: the node's problem, not the
    /// file's; the caller tries again later.
    #[error("the text reader could not be run: {0}")]
    Start(#[source] std::io::Error),
}

/// Runs `program args… extract-text-arguments` as the reader of files' text.
#[derive(Debug, Clone)]
pub struct Extractor {
    program: PathBuf,
    args: Vec<String>,
    timeout: Duration,
    limits: ChildLimits,
}

impl Extractor {
    /// An extractor running `program` with `args` (the subcommand) before the limits.
    pub fn new(
        program: PathBuf,
        args: Vec<String>,
        timeout: Duration,
        limits: ChildLimits,
    ) -> Self {
        Self {
            program,
            args,
            timeout,
            limits,
        }
    }

    /// The largest file whose text is read.
    pub fn max_input_bytes(&self) -> u64 {
        self.limits.max_input_bytes
    }

    /// The text of `bytes`, a file of `format`, read in a child process.
    pub async fn extract(&self, bytes: Vec<u8>, format: Format) -> Result<String, ExtractError> {
        if bytes.len() as u64 > self.limits.max_input_bytes {
            return Err(Unreadable::TooLarge.into());
        }
        let max_text = Limits::default().max_text;
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .args(self.limits.args(format))
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(ExtractError::Start)?;
        let missing =
            || ExtractError::Start(std::io::Error::other("a pipe to the child is missing"));
        let mut stdin = child.stdin.take().ok_or_else(missing)?;
        let stdout = child.stdout.take().ok_or_else(missing)?;
        let stderr = child.stderr.take().ok_or_else(missing)?;
        let write = async move {
            // A child that stopped reading (it failed early) closes the pipe: not an error here;
            // its exit status says what happened.
            let _ = stdin.write_all(&bytes).await;
        };
        // At most one byte more than is kept: enough to know the text is too long. The pipe is
        // then closed, so a child still writing stops instead of waiting.
        let read_out = async move {
            let mut out = Vec::new();
            let mut limited = stdout.take(max_text as u64 + 1);
            let read = limited.read_to_end(&mut out).await;
            read.map(|_| out)
        };
        let read_err = async move {
            let mut err = Vec::new();
            let _ = stderr.take(STDERR_MAX).read_to_end(&mut err).await;
            err
        };
        let deadline = tokio::time::Instant::now() + self.timeout;
        let pipes = tokio::time::timeout_at(deadline, async {
            let ((), out, err) = tokio::join!(write, read_out, read_err);
            (out, err)
        })
        .await;
        let Ok((out, err)) = pipes else {
            stop(&mut child).await;
            return Err(Unreadable::TimeLimit.into());
        };
        let out = out.map_err(ExtractError::Start)?;
        if out.len() > max_text {
            stop(&mut child).await;
            return Err(Unreadable::TextTooLong.into());
        }
        let Ok(status) = tokio::time::timeout_at(deadline, child.wait()).await else {
            stop(&mut child).await;
            return Err(Unreadable::TimeLimit.into());
        };
        let status = status.map_err(ExtractError::Start)?;
        if status.success() {
            return String::from_utf8(out).map_err(|_| Unreadable::Malformed.into());
        }
        let err = String::from_utf8_lossy(&err);
        Err(judge(status.code(), status.signal(), &err))
    }
}

/// Kills the child and waits for it, so that no process is left behind.
async fn stop(child: &mut tokio::process::Child) {
    let _ = child.start_kill();
    let _ = child.wait().await;
}

/// What a child's end says about the file.
fn judge(code: Option<i32>, signal: Option<i32>, stderr: &str) -> ExtractError {
    let reason = stderr
        .lines()
        .find_map(|l| l.strip_prefix(REASON_PREFIX))
        .map(str::trim);
    match (code, signal) {
        (Some(c), _) if c == i32::from(EXIT_UNREADABLE) => reason
            .and_then(Unreadable::from_code)
            .unwrap_or(Unreadable::Crashed)
            .into(),
        (Some(c), _) if c == i32::from(EXIT_UNCONFINED) => ExtractError::Start(
            std::io::Error::other(reason.unwrap_or("it could not limit itself").to_owned()),
        ),
        _ if stderr.contains("memory allocation of") => Unreadable::MemoryLimit.into(),
        (_, Some(SIGXCPU)) => Unreadable::TimeLimit.into(),
        // Any other exit status without a reason: it never got to read (arguments of another
        // version, a program that could not be loaded): the node's trouble, not the file's.
        (Some(code), _) => ExtractError::Start(std::io::Error::other(format!(
            "the text reader ended with status {code} before reading"
        ))),
        // Killed by a signal while reading: a parser that crashed on the file.
        _ => Unreadable::Crashed.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(e: ExtractError) -> Option<Unreadable> {
        match e {
            ExtractError::Unreadable(r) => Some(r),
            ExtractError::Start(_) => None,
        }
    }

    #[test]
    fn a_childs_end_is_judged_by_its_status_and_last_words() {
        assert_eq!(
            reason(judge(
                Some(3),
                None,
                "ideaweave-extract: archive_too_large\n"
            )),
            Some(Unreadable::ArchiveTooLarge)
        );
        assert_eq!(
            reason(judge(Some(3), None, "ideaweave-extract: nonsense\n")),
            Some(Unreadable::Crashed)
        );
        assert_eq!(
            reason(judge(
                None,
                Some(6),
                "memory allocation of 1048576 bytes failed\n"
            )),
            Some(Unreadable::MemoryLimit)
        );
        assert_eq!(
            reason(judge(None, Some(24), "")),
            Some(Unreadable::TimeLimit)
        );
        assert_eq!(reason(judge(None, Some(11), "")), Some(Unreadable::Crashed));
        assert_eq!(reason(judge(Some(4), None, "ideaweave-extract: x")), None);
        assert_eq!(reason(judge(Some(2), None, "usage")), None);
        assert_eq!(reason(judge(Some(127), None, "")), None);
    }
}
