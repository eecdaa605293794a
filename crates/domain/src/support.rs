//! Support access (SUP-01): the operator's staff see a workspace only when its admins invite
//! them, for a scope and a time they choose, until they revoke it. What support may do under
//! each scope is decided here, so the rule is the same through the API, the pages and the CLI.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::policy::Action;

/// The longest a support invitation may run: one week. Longer help needs a new invitation,
/// so access never lingers forgotten.
pub const MAX_SUPPORT_HOURS: u32 = 168;

/// What support may do in a workspace that invited it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SupportScope {
    /// Look at everything an admin sees (content, members, settings, the audit trail), change
    /// nothing.
    Read,
    /// Also fix things as an admin would: settings, spaces, discussions, stages, moderation,
    /// merges and deletions. Never anything that acts as a person (posting, voting, rating),
    /// that takes data out (exports), that erases or ends anything for good (erasure,
    /// termination), or that changes who gets in (members, invitations, tokens, sign-in
    /// policy, single sign-on, support access itself).
    Manage,
}

impl SupportScope {
    /// The scope's name in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            SupportScope::Read => "read",
            SupportScope::Manage => "manage",
        }
    }
}

impl FromStr for SupportScope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(SupportScope::Read),
            "manage" => Ok(SupportScope::Manage),
            other => Err(format!("{other:?} is not a support scope (read or manage)")),
        }
    }
}

/// Whether support acting under `scope` may do `action` (on top of what the admin role it
/// acts with allows).
pub fn support_may(scope: SupportScope, action: &Action) -> bool {
    use Action::*;
    if action.is_read() {
        return true;
    }
    match scope {
        SupportScope::Read => false,
        SupportScope::Manage => matches!(
            action,
            ManageSettings
                | CreateSpace
                | ManageSpace(_)
                | ManageDiscussion(_)
                | Moderate(_)
                | SetStage(_)
                | Merge(_)
                | DeleteIdea { .. }
                | DeleteComment { .. }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;
    use crate::policy::SpaceView;

    fn space() -> SpaceView {
        SpaceView {
            private: false,
            listed: true,
        }
    }

    #[test]
    fn sup_01_read_support_reads_only() {
        assert!(support_may(SupportScope::Read, &Action::ReadWorkspace));
        assert!(support_may(
            SupportScope::Read,
            &Action::ReadContent(space())
        ));
        assert!(support_may(SupportScope::Read, &Action::ReadAudit));
        for action in [
            Action::ManageSettings,
            Action::Moderate(space()),
            Action::CreateIdea(space()),
            Action::ExportWorkspace,
        ] {
            assert!(!support_may(SupportScope::Read, &action), "{action:?}");
        }
    }

    #[test]
    fn sup_01_manage_support_fixes_but_never_acts_as_a_person_or_takes_data_out() {
        for action in [
            Action::ManageSettings,
            Action::Moderate(space()),
            Action::SetStage(space()),
            Action::Merge(space()),
        ] {
            assert!(support_may(SupportScope::Manage, &action), "{action:?}");
        }
        for action in [
            Action::CreateIdea(space()),
            Action::Comment(space()),
            Action::Vote(space()),
            Action::Rate(space()),
            Action::ExportWorkspace,
            Action::TerminateWorkspace,
            Action::ManageOwnTokens,
            Action::ManageInvitations,
            Action::Invite { role: Role::Guest },
            Action::ErasePerson {
                target: Some(Role::Member),
            },
        ] {
            assert!(!support_may(SupportScope::Manage, &action), "{action:?}");
        }
        assert_eq!("manage".parse(), Ok(SupportScope::Manage));
        assert!("admin".parse::<SupportScope>().is_err());
    }
}
