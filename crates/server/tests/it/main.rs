//! Integration tests: the real application on a random port, against SQLite or PostgreSQL
//! (`IW_TEST_DB`). One test binary, one module per area.

// Tests and their helpers: a failed step is a failed test (clippy only sees `#[test]` functions
// and `#[cfg(test)]` modules as tests, not the helpers of an integration test binary).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod content;
mod helpers;
mod identity;
mod platform;
mod privacy;
mod transfer;
mod trust;
mod workspace;
