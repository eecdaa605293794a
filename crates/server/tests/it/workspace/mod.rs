//! Workspaces and who belongs to them: invitations and the member directory.

pub(crate) mod directory;
pub(crate) mod invitations;
pub(crate) mod profiles;
