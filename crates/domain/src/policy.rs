//! The authorisation policy: the one place that decides whether an actor may perform an action.
//!
//! Every use case asks [`authorize`] before it reads or changes anything; storage never decides
//! permissions. A decision depends only on the actor (their role and, for API tokens, the token's
//! scope), the visibility of the space the action touches, and ownership of the target.
//!
//! Two kinds of refusal exist on purpose. [`Denial::Hidden`] is for things the actor must not learn
//! exist (a private space they are not listed in): the API answers 404, exactly as for an id that
//! does not exist. [`Denial::Forbidden`] is for things the actor can see but not change: 403.

use crate::{Role, TokenScope, UserId};

/// Who is acting, within one workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The person.
    pub user: UserId,
    /// Their role in the workspace the action is in.
    pub role: Role,
    /// The scope of the API token they authenticated with; `None` for a signed-in session,
    /// which carries the whole role.
    pub scope: Option<TokenScope>,
}

/// How a space is visible, as seen from one actor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpaceView {
    /// True when the space is private to its listed members.
    pub private: bool,
    /// True when the actor is listed as a member of the space.
    pub listed: bool,
}

/// Everything an actor can ask to do inside a workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// See the workspace, its settings, stages and criteria.
    ReadWorkspace,
    /// See the member list.
    ReadMembers,
    /// Invite someone with `role`.
    Invite {
        /// The role the invitation grants.
        role: Role,
    },
    /// List or revoke pending invitations.
    ManageInvitations,
    /// Change a member's role.
    ChangeRole {
        /// The member's role now.
        current: Role,
        /// The role asked for.
        new: Role,
    },
    /// Remove a member (or leave, when `is_self`).
    RemoveMember {
        /// The member's role.
        target: Role,
        /// True when the actor removes themselves.
        is_self: bool,
    },
    /// Erase a person from the workspace (DSR-03): a member with role `target`, or a former
    /// member (`None`) whose contributions remain.
    ErasePerson {
        /// Their role, if they are still a member.
        target: Option<Role>,
    },
    /// Export the whole workspace, or download such an export (LIF-01).
    ExportWorkspace,
    /// Ask for the workspace's deletion, or cancel it during the grace period (LIF-02).
    TerminateWorkspace,
    /// Change workspace settings: name, stages, rating criteria.
    ManageSettings,
    /// Create a space.
    CreateSpace,
    /// Change a space: name, visibility, member list; or delete it.
    ManageSpace(SpaceView),
    /// Read anything inside a space: the space, its discussions, ideas, comments, files, links.
    ReadContent(SpaceView),
    /// Open a discussion in a space.
    CreateDiscussion(SpaceView),
    /// Edit, close or reopen a discussion.
    ManageDiscussion(SpaceView),
    /// Post an idea.
    CreateIdea(SpaceView),
    /// Edit an idea's title, body or tags.
    EditIdea {
        /// The idea's space.
        space: SpaceView,
        /// True when the actor wrote the idea.
        is_author: bool,
    },
    /// Soft-delete an idea.
    DeleteIdea {
        /// The idea's space.
        space: SpaceView,
        /// True when the actor wrote the idea.
        is_author: bool,
    },
    /// Bring back soft-deleted content, or see it.
    Moderate(SpaceView),
    /// Move an idea to another stage.
    SetStage(SpaceView),
    /// Merge a duplicate idea into another, or undo that.
    Merge(SpaceView),
    /// Comment on an idea.
    Comment(SpaceView),
    /// Edit a comment's text.
    EditComment {
        /// The comment's space.
        space: SpaceView,
        /// True when the actor wrote the comment.
        is_author: bool,
    },
    /// Soft-delete a comment.
    DeleteComment {
        /// The comment's space.
        space: SpaceView,
        /// True when the actor wrote the comment.
        is_author: bool,
    },
    /// Vote on an idea.
    Vote(SpaceView),
    /// Rate an idea.
    Rate(SpaceView),
    /// Attach a file or a link to an idea or a comment.
    Attach {
        /// The space of the idea or comment.
        space: SpaceView,
        /// True when the actor wrote the idea or comment.
        is_author: bool,
    },
    /// Remove a file or a link.
    Detach {
        /// The space it is in.
        space: SpaceView,
        /// True when the actor added it or wrote the idea it is on.
        is_author: bool,
    },
    /// Create, list and revoke one's own API tokens.
    ManageOwnTokens,
    /// Change one's own email notification preference in the workspace (COL-04).
    ManageOwnNotifications,
    /// Read and export the workspace's audit trail (AUD-04).
    ReadAudit,
}

/// Why an action was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// The target must appear not to exist to this actor.
    #[error("not found")]
    Hidden,
    /// The actor sees the target but may not do this; the text says what would be needed.
    #[error("{0}")]
    Forbidden(&'static str),
}

impl Action {
    /// True for actions that change nothing; a read-only token may perform only these.
    pub fn is_read(&self) -> bool {
        matches!(
            self,
            Action::ReadWorkspace
                | Action::ReadMembers
                | Action::ReadContent(_)
                | Action::ReadAudit
        )
    }

    fn space(&self) -> Option<SpaceView> {
        use Action::*;
        match *self {
            ManageSpace(s) | ReadContent(s) | CreateDiscussion(s) | ManageDiscussion(s)
            | CreateIdea(s) | Moderate(s) | SetStage(s) | Merge(s) | Comment(s) | Vote(s)
            | Rate(s) => Some(s),
            EditIdea { space, .. }
            | DeleteIdea { space, .. }
            | EditComment { space, .. }
            | DeleteComment { space, .. }
            | Attach { space, .. }
            | Detach { space, .. } => Some(space),
            _ => None,
        }
    }
}

/// True when `role` may see a space with visibility `space`.
///
/// Admins and owners see every space (they manage them). Members and moderators see the spaces
/// open to the workspace, and private spaces they are listed in. Guests see only spaces they are
/// listed in: a guest is an outsider let into particular rooms.
pub fn can_see_space(role: Role, space: SpaceView) -> bool {
    role >= Role::Admin || space.listed || (!space.private && role >= Role::Member)
}

fn at_least(actor: &Actor, role: Role, why: &'static str) -> Result<(), Denial> {
    if actor.role >= role {
        Ok(())
    } else {
        Err(Denial::Forbidden(why))
    }
}

/// Decides whether `actor` may perform `action`.
pub fn authorize(actor: &Actor, action: Action) -> Result<(), Denial> {
    if let Some(space) = action.space()
        && !can_see_space(actor.role, space)
    {
        return Err(Denial::Hidden);
    }
    if actor.scope == Some(TokenScope::Read) && !action.is_read() {
        return Err(Denial::Forbidden("this API token is read-only"));
    }
    use Action::*;
    match action {
        ReadWorkspace | ReadContent(_) | ManageOwnTokens | ManageOwnNotifications => Ok(()),
        Comment(_) => Ok(()),
        ReadMembers => at_least(actor, Role::Member, "guests cannot see the member list"),
        Invite { role } => {
            at_least(
                actor,
                Role::Admin,
                "inviting members requires the admin role",
            )?;
            if role > actor.role {
                return Err(Denial::Forbidden(
                    "you cannot invite someone to a role above your own",
                ));
            }
            Ok(())
        }
        ChangeRole { current, new } => {
            at_least(actor, Role::Admin, "changing roles requires the admin role")?;
            if current > actor.role || new > actor.role {
                return Err(Denial::Forbidden("you cannot change a role above your own"));
            }
            Ok(())
        }
        TerminateWorkspace => {
            at_least(actor, Role::Owner, "only an owner can delete the workspace")?;
            if actor.scope.is_some() {
                return Err(Denial::Forbidden(
                    "deleting the workspace needs a signed-in session, not an API token",
                ));
            }
            Ok(())
        }
        ExportWorkspace => {
            at_least(
                actor,
                Role::Admin,
                "exporting the workspace requires the admin role",
            )?;
            if actor.scope.is_some() {
                return Err(Denial::Forbidden(
                    "exporting the workspace needs a signed-in session, not an API token",
                ));
            }
            Ok(())
        }
        ErasePerson { target } => {
            at_least(
                actor,
                Role::Admin,
                "erasing a person requires the admin role",
            )?;
            if actor.scope.is_some() {
                return Err(Denial::Forbidden(
                    "erasing a person needs a signed-in session, not an API token",
                ));
            }
            if target.is_some_and(|t| t > actor.role) {
                return Err(Denial::Forbidden(
                    "you cannot erase a member whose role is above your own",
                ));
            }
            Ok(())
        }
        RemoveMember { target, is_self } => {
            if is_self {
                return Ok(());
            }
            at_least(
                actor,
                Role::Admin,
                "removing members requires the admin role",
            )?;
            if target > actor.role {
                return Err(Denial::Forbidden(
                    "you cannot remove a member whose role is above your own",
                ));
            }
            Ok(())
        }
        ManageInvitations | ManageSettings | CreateSpace | ManageSpace(_) => {
            at_least(actor, Role::Admin, "this requires the admin role")
        }
        ReadAudit => at_least(
            actor,
            Role::Admin,
            "reading the audit trail requires the admin role",
        ),
        CreateDiscussion(_) | ManageDiscussion(_) => at_least(
            actor,
            Role::Moderator,
            "managing discussions requires the moderator role",
        ),
        Moderate(_) | SetStage(_) | Merge(_) => {
            at_least(actor, Role::Moderator, "this requires the moderator role")
        }
        CreateIdea(_) => at_least(actor, Role::Member, "guests cannot post ideas"),
        Vote(_) => at_least(actor, Role::Member, "guests cannot vote"),
        Rate(_) => at_least(actor, Role::Member, "guests cannot rate"),
        EditIdea { is_author, .. } | Attach { is_author, .. } => {
            if (is_author && actor.role >= Role::Member) || actor.role >= Role::Moderator {
                Ok(())
            } else {
                Err(Denial::Forbidden(
                    "only the author or a moderator can change this",
                ))
            }
        }
        EditComment { is_author, .. } => {
            if is_author {
                Ok(())
            } else {
                Err(Denial::Forbidden("only the author can edit a comment"))
            }
        }
        DeleteIdea { is_author, .. }
        | DeleteComment { is_author, .. }
        | Detach { is_author, .. } => {
            if is_author || actor.role >= Role::Moderator {
                Ok(())
            } else {
                Err(Denial::Forbidden(
                    "only the author or a moderator can remove this",
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: SpaceView = SpaceView {
        private: false,
        listed: false,
    };
    const PRIVATE: SpaceView = SpaceView {
        private: true,
        listed: false,
    };
    const PRIVATE_LISTED: SpaceView = SpaceView {
        private: true,
        listed: true,
    };

    fn actor(role: Role) -> Actor {
        Actor {
            user: UserId::new(),
            role,
            scope: None,
        }
    }

    #[test]
    fn acc_01_private_spaces_are_hidden_not_forbidden() {
        for role in [Role::Guest, Role::Member, Role::Moderator] {
            assert_eq!(
                authorize(&actor(role), Action::ReadContent(PRIVATE)),
                Err(Denial::Hidden)
            );
            assert_eq!(
                authorize(&actor(role), Action::ReadContent(PRIVATE_LISTED)),
                Ok(())
            );
        }
        assert_eq!(
            authorize(&actor(Role::Admin), Action::ReadContent(PRIVATE)),
            Ok(())
        );
    }

    #[test]
    fn acc_01_guests_see_only_listed_spaces() {
        assert_eq!(
            authorize(&actor(Role::Guest), Action::ReadContent(OPEN)),
            Err(Denial::Hidden)
        );
        let listed = SpaceView {
            private: false,
            listed: true,
        };
        assert_eq!(
            authorize(&actor(Role::Guest), Action::ReadContent(listed)),
            Ok(())
        );
        assert!(authorize(&actor(Role::Guest), Action::Comment(listed)).is_ok());
        assert!(authorize(&actor(Role::Guest), Action::Vote(listed)).is_err());
        assert!(authorize(&actor(Role::Guest), Action::CreateIdea(listed)).is_err());
    }

    #[test]
    fn acc_01_read_tokens_cannot_write() {
        let a = Actor {
            scope: Some(TokenScope::Read),
            ..actor(Role::Owner)
        };
        assert!(authorize(&a, Action::ReadContent(OPEN)).is_ok());
        assert!(matches!(
            authorize(&a, Action::Vote(OPEN)),
            Err(Denial::Forbidden(_))
        ));
        assert!(matches!(
            authorize(&a, Action::ManageSettings),
            Err(Denial::Forbidden(_))
        ));
        assert!(matches!(
            authorize(&a, Action::ManageOwnNotifications),
            Err(Denial::Forbidden(_))
        ));
        let w = Actor {
            scope: Some(TokenScope::Write),
            ..actor(Role::Member)
        };
        assert!(authorize(&w, Action::Vote(OPEN)).is_ok());
        let guest = Actor {
            scope: Some(TokenScope::Write),
            ..actor(Role::Guest)
        };
        assert!(
            authorize(&guest, Action::ManageOwnNotifications).is_ok(),
            "everyone chooses their own notifications (COL-04)"
        );
        assert!(
            authorize(&w, Action::ManageSettings).is_err(),
            "scope never widens a role"
        );
    }

    #[test]
    fn acc_01_roles_cannot_grant_above_themselves() {
        let admin = actor(Role::Admin);
        assert!(authorize(&admin, Action::Invite { role: Role::Admin }).is_ok());
        assert!(authorize(&admin, Action::Invite { role: Role::Owner }).is_err());
        assert!(
            authorize(
                &admin,
                Action::ChangeRole {
                    current: Role::Owner,
                    new: Role::Member
                }
            )
            .is_err()
        );
        assert!(
            authorize(
                &admin,
                Action::RemoveMember {
                    target: Role::Owner,
                    is_self: false
                }
            )
            .is_err()
        );
        assert!(
            authorize(
                &actor(Role::Member),
                Action::RemoveMember {
                    target: Role::Owner,
                    is_self: true
                }
            )
            .is_ok()
        );
        assert!(
            authorize(
                &actor(Role::Owner),
                Action::ChangeRole {
                    current: Role::Owner,
                    new: Role::Admin
                }
            )
            .is_ok()
        );
    }

    #[test]
    fn acc_01_ownership_rules() {
        let m = actor(Role::Member);
        assert!(
            authorize(
                &m,
                Action::EditIdea {
                    space: OPEN,
                    is_author: true
                }
            )
            .is_ok()
        );
        assert!(
            authorize(
                &m,
                Action::EditIdea {
                    space: OPEN,
                    is_author: false
                }
            )
            .is_err()
        );
        assert!(
            authorize(
                &actor(Role::Moderator),
                Action::EditIdea {
                    space: OPEN,
                    is_author: false
                }
            )
            .is_ok()
        );
        assert!(
            authorize(
                &actor(Role::Owner),
                Action::EditComment {
                    space: OPEN,
                    is_author: false
                }
            )
            .is_err()
        );
        assert!(
            authorize(
                &actor(Role::Moderator),
                Action::DeleteComment {
                    space: OPEN,
                    is_author: false
                }
            )
            .is_ok()
        );
    }

    #[test]
    fn dsr_03_only_admins_in_a_session_erase_and_never_above_their_role() {
        let erase = |target| Action::ErasePerson { target };
        assert!(authorize(&actor(Role::Admin), erase(Some(Role::Member))).is_ok());
        assert!(authorize(&actor(Role::Admin), erase(None)).is_ok());
        assert!(authorize(&actor(Role::Admin), erase(Some(Role::Owner))).is_err());
        assert!(authorize(&actor(Role::Owner), erase(Some(Role::Owner))).is_ok());
        assert!(authorize(&actor(Role::Moderator), erase(Some(Role::Guest))).is_err());
        let token = Actor {
            scope: Some(TokenScope::Write),
            ..actor(Role::Owner)
        };
        assert!(authorize(&token, erase(Some(Role::Member))).is_err());
    }

    #[test]
    fn lif_01_only_admins_in_a_session_export_the_workspace() {
        assert!(authorize(&actor(Role::Admin), Action::ExportWorkspace).is_ok());
        assert!(authorize(&actor(Role::Moderator), Action::ExportWorkspace).is_err());
        let token = Actor {
            scope: Some(TokenScope::Write),
            ..actor(Role::Owner)
        };
        assert!(authorize(&token, Action::ExportWorkspace).is_err());
    }

    #[test]
    fn lif_02_only_owners_in_a_session_delete_the_workspace() {
        assert!(authorize(&actor(Role::Owner), Action::TerminateWorkspace).is_ok());
        assert!(authorize(&actor(Role::Admin), Action::TerminateWorkspace).is_err());
        let token = Actor {
            scope: Some(TokenScope::Write),
            ..actor(Role::Owner)
        };
        assert!(authorize(&token, Action::TerminateWorkspace).is_err());
    }
}
