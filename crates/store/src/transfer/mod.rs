//! Export, import and backup reads and writes.

pub(crate) mod backup;
pub(crate) mod export;
