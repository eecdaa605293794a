//! The audit trail and invited support access.

pub(crate) mod support;
