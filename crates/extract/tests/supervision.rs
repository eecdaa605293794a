//! How the parent judges a reader that misbehaves (COL-05): real processes (`sh`) standing in
//! for a child stuck in a loop, one that runs out of memory, one that writes without end, and
//! one that cannot be started. The real child's own limits are tested through the server
//! binary in `crates/server/tests/it/content/search_files.rs`.

use std::time::{Duration, Instant};

use ideaweave_extract::{ChildLimits, ExtractError, Extractor, Format, Unreadable};

const LIMITS: ChildLimits = ChildLimits {
    memory_bytes: 512 * 1024 * 1024,
    cpu_seconds: 5,
    max_input_bytes: 1024 * 1024,
};

/// An extractor running `script` in `sh` (the limit arguments become ignored positional
/// parameters).
fn shell(script: &str, timeout: Duration) -> Extractor {
    Extractor::new(
        "/bin/sh".into(),
        vec!["-c".into(), script.into(), "reader".into()],
        timeout,
        LIMITS,
    )
}

fn reason(r: Result<String, ExtractError>) -> Option<Unreadable> {
    match r {
        Err(ExtractError::Unreadable(why)) => Some(why),
        _ => None,
    }
}

#[tokio::test]
async fn col_05_a_reader_that_never_ends_is_stopped_at_the_time_limit() {
    let started = Instant::now();
    let r = shell("cat > /dev/null; sleep 30", Duration::from_millis(500))
        .extract(b"input".to_vec(), Format::Pdf)
        .await;
    assert_eq!(reason(r), Some(Unreadable::TimeLimit));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "it was stopped"
    );
}

#[tokio::test]
async fn col_05_a_reader_that_runs_out_of_memory_is_reported_so() {
    let r = shell(
        "cat > /dev/null; echo 'memory allocation of 1048576 bytes failed' >&2; kill -ABRT $$",
        Duration::from_secs(5),
    )
    .extract(b"input".to_vec(), Format::Pdf)
    .await;
    assert_eq!(reason(r), Some(Unreadable::MemoryLimit));
}

#[tokio::test]
async fn col_05_a_reader_that_writes_without_end_is_cut_off() {
    let r = shell(
        "cat > /dev/null; while :; do echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; done",
        Duration::from_secs(20),
    )
    .extract(b"input".to_vec(), Format::Pdf)
    .await;
    assert_eq!(reason(r), Some(Unreadable::TextTooLong));
}

#[tokio::test]
async fn col_05_a_reader_that_stops_reading_its_input_early_is_judged_by_its_end() {
    let r = shell(
        "echo 'ideaweave-extract: encrypted' >&2; exit 3",
        Duration::from_secs(5),
    )
    .extract(vec![b'x'; 512 * 1024], Format::Pdf)
    .await;
    assert_eq!(reason(r), Some(Unreadable::Encrypted));
}

#[tokio::test]
async fn col_05_input_beyond_the_limit_is_not_handed_over() {
    let r = shell("exit 0", Duration::from_secs(5))
        .extract(vec![b'x'; 2 * 1024 * 1024], Format::Text)
        .await;
    assert_eq!(reason(r), Some(Unreadable::TooLarge));
}

#[tokio::test]
async fn col_05_a_reader_that_cannot_start_is_the_nodes_problem_not_the_files() {
    let r = Extractor::new(
        "/nonexistent/ideaweave".into(),
        vec!["extract-text".into()],
        Duration::from_secs(5),
        LIMITS,
    )
    .extract(b"input".to_vec(), Format::Pdf)
    .await;
    assert!(matches!(r, Err(ExtractError::Start(_))), "{r:?}");
}
