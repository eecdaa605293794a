//! The audit trail, its guards, and support access grants.

pub(crate) mod audit;
pub(crate) mod audit_guards;
pub(crate) mod support;
