//! Workspace administration: members, invitations, settings, tokens and the audit trail pages.

pub(crate) mod manage;
pub(crate) mod profile;
