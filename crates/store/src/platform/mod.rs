//! What every area builds on: migrations, row records, nested rows, the mail outbox and the key store.

pub(crate) mod keys;
pub(crate) mod migrate;
pub(crate) mod nested;
pub(crate) mod outbox;
pub mod records;
