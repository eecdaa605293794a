//! Data leaving and entering an instance whole: workspace export and import, and what backups need from the use cases (POR-*, BAK-*).

pub(crate) mod backup_support;
pub(crate) mod export;
