//! Integration tests: the real application on a random port, against SQLite or PostgreSQL
//! (`IW_TEST_DB`). One test binary, one module per area.

mod content;
mod helpers;
mod identity;
mod platform;
mod privacy;
mod transfer;
mod trust;
mod workspace;
