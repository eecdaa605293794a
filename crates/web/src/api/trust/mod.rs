//! The audit trail and invited support access.

pub mod audit;
pub mod support;
