//! Workspaces and who belongs to them: members, roles, invitations, API tokens, settings, and the operator creating workspaces.

pub(crate) mod admin;
pub(crate) mod views;
pub(crate) mod workspace;
