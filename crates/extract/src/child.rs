//! The child process that reads one file's text: `ideaweave extract-text`.
//!
//! It limits itself before reading its input, so whatever the file makes the parsers do stays
//! inside these bounds: processor time, address space, no file written, no core dumped. The
//! limits are set and then the program starts again under them (`exec` keeps them): the
//! allocator reserves its address space as a program starts, and memory reserved before the
//! limit was set would not count against it. It
//! reads the file from standard input and writes the text to standard output; a file it cannot
//! read is reported on standard error as one line `ideaweave-extract: <code>` and exit status
//! [`EXIT_UNREADABLE`]. Panics are silenced (their messages could quote the file) and reported
//! as damage.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

use crate::{Format, Limits, Unreadable, extract};

/// The start of the line that reports why a file is unreadable.
pub(crate) const REASON_PREFIX: &str = "ideaweave-extract: ";
/// Exit status of a file that could not be read (the reason on standard error).
pub(crate) const EXIT_UNREADABLE: u8 = 3;
/// Exit status when the child could not limit itself: not the file's fault, so the parent
/// tries again later instead of recording the file as unreadable.
pub(crate) const EXIT_UNCONFINED: u8 = 4;
/// Set in the environment of the second start, which runs under the limits.
const CONFINED: &str = "IDEAWEAVE_EXTRACT_CONFINED";

/// The bounds the child sets on itself.
#[derive(Debug, Clone, Copy)]
pub struct ChildLimits {
    /// Address space, in bytes.
    pub memory_bytes: u64,
    /// Processor time, in seconds.
    pub cpu_seconds: u64,
    /// The largest input read.
    pub max_input_bytes: u64,
}

impl ChildLimits {
    /// The command-line arguments that tell the child these limits and the format, after the
    /// subcommand (parsed by the server's `extract-text` command).
    pub fn args(&self, format: Format) -> Vec<String> {
        vec![
            "--format".into(),
            format.as_str().into(),
            "--memory-bytes".into(),
            self.memory_bytes.to_string(),
            "--cpu-seconds".into(),
            self.cpu_seconds.to_string(),
            "--max-input-bytes".into(),
            self.max_input_bytes.to_string(),
        ]
    }
}

/// Runs the child: limits itself, reads standard input, writes the text.
pub fn run_child(format: Format, limits: ChildLimits) -> ExitCode {
    std::panic::set_hook(Box::new(|_| {}));
    if std::env::var_os(CONFINED).is_none() {
        if let Err(e) = confine(&limits) {
            eprintln!("{REASON_PREFIX}cannot limit itself: {e}");
            return ExitCode::from(EXIT_UNCONFINED);
        }
        // `exec` returns only when it failed (limits too low to load the program, say).
        let e = Command::new("/proc/self/exe")
            .args(std::env::args_os().skip(1))
            .env(CONFINED, "1")
            .exec();
        eprintln!("{REASON_PREFIX}cannot start again under its limits: {e}");
        return ExitCode::from(EXIT_UNCONFINED);
    }
    if let Err(e) = confined(&limits) {
        eprintln!("{REASON_PREFIX}its limits are not in force: {e}");
        return ExitCode::from(EXIT_UNCONFINED);
    }
    if let Err(e) = nix::sys::prctl::set_dumpable(false) {
        eprintln!("{REASON_PREFIX}cannot refuse core dumps: {e}");
        return ExitCode::from(EXIT_UNCONFINED);
    }
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin()
        .take(limits.max_input_bytes.saturating_add(1))
        .read_to_end(&mut input)
    {
        if e.kind() == std::io::ErrorKind::OutOfMemory {
            return report(Unreadable::MemoryLimit);
        }
        eprintln!("{REASON_PREFIX}cannot read its input: {e}");
        return ExitCode::from(EXIT_UNCONFINED);
    }
    if input.len() as u64 > limits.max_input_bytes {
        return report(Unreadable::TooLarge);
    }
    let read = std::panic::catch_unwind(|| extract(&input, format, &Limits::default()));
    match read {
        Ok(Ok(text)) => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                // The parent stopped listening (it had enough): nothing more to say.
                Err(_) => ExitCode::FAILURE,
            }
        }
        Ok(Err(reason)) => report(reason),
        Err(_) => report(Unreadable::Malformed),
    }
}

fn report(reason: Unreadable) -> ExitCode {
    eprintln!("{REASON_PREFIX}{}", reason.code());
    ExitCode::from(EXIT_UNREADABLE)
}

/// Checks that the limits set before the second start are in force.
fn confined(limits: &ChildLimits) -> std::io::Result<()> {
    use rlimit::{Resource, getrlimit};
    let within = |r: Resource, max: u64| -> std::io::Result<()> {
        let (soft, _) = getrlimit(r)?;
        if soft <= max {
            Ok(())
        } else {
            Err(std::io::Error::other(format!("{r:?} is {soft}")))
        }
    };
    within(Resource::AS, limits.memory_bytes)?;
    within(Resource::CPU, limits.cpu_seconds)?;
    within(Resource::FSIZE, 0)?;
    within(Resource::CORE, 0)
}

/// Sets the process's own limits. Address space rather than data: it also bounds what the
/// allocator maps directly.
fn confine(limits: &ChildLimits) -> std::io::Result<()> {
    use rlimit::{Resource, setrlimit};
    setrlimit(
        Resource::CPU,
        limits.cpu_seconds,
        limits.cpu_seconds.saturating_add(1),
    )?;
    setrlimit(Resource::AS, limits.memory_bytes, limits.memory_bytes)?;
    setrlimit(Resource::FSIZE, 0, 0)?;
    setrlimit(Resource::CORE, 0, 0)?;
    Ok(())
}
