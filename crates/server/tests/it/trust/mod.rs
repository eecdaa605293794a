//! The audit trail, encryption and keys, support access.

pub(crate) mod audit;
pub(crate) mod encryption;
pub(crate) mod keys;
pub(crate) mod support;
