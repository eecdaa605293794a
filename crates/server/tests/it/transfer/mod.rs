//! Export, import, backups and restores.

pub(crate) mod backup;
pub(crate) mod export;
