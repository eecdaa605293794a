//! Workspaces and who belongs to them: invitations.

pub(crate) mod invitations;
