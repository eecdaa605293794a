//! What lets customers and auditors verify the operator: the audit trail and its anchor, key rotation and invited support access (AUD-*, ENC-03, SUP-*).

pub(crate) mod audit;
pub(crate) mod audit_seal;
pub(crate) mod rotation;
pub(crate) mod support;
