//! The audit trail and invited support access.

pub(crate) mod audit;
pub(crate) mod support;
