//! What the workspace use cases return and accept: workspaces, members, invitations, stages.
//!
//! Plain, serialisable views with an OpenAPI schema each. Inputs refuse unknown fields so that a
//! misspelt field is an error, not a silent no-op.

use ideaweave_domain::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A stage of the idea pipeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageView {
    pub id: StageId,
    pub name: String,
    pub position: i64,
}

/// A rating criterion.
#[derive(Debug, Serialize, ToSchema)]
pub struct CriterionView {
    pub id: CriterionId,
    pub name: String,
    pub position: i64,
}

/// A workspace as its members see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceView {
    pub id: WorkspaceId,
    pub slug: String,
    pub name: String,
    pub my_role: Role,
    pub stages: Vec<StageView>,
    pub criteria: Vec<CriterionView>,
}

/// A member of a workspace. The email address is shown to admins and owners only.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub user_id: UserId,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub role: Role,
    pub joined_at: i64,
    /// The day (start, UTC, Unix ms) the member last used the workspace, on pages or with an API
    /// token; shown to admins and owners only, like the address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_active_on: Option<i64>,
}

/// An invitation.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    pub id: InvitationId,
    pub email: String,
    pub role: Role,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A freshly created invitation. On an instance that does not send mail, with the link for the
/// inviter to pass on (shown once); where invitations are mailed, the link goes to the invited
/// address only, so the inviter can neither accept in someone else's name nor learn from the
/// answer whether the address has an account (issue 19, finding 7).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedInvitation {
    pub invitation: InvitationView,
    /// The secret token inside the link (absent when the invitation was mailed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The link the invitee opens (absent when the invitation was mailed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept_url: Option<String>,
}

/// What an invitation link offers, shown to whoever holds the link.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationInfo {
    pub workspace_name: String,
    pub workspace_slug: String,
    pub email: String,
    pub role: Role,
    pub expires_at: i64,
}

/// Rename the workspace.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspacePatch {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
}

/// A stage or criterion to create or change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NamedItemInput {
    /// At most 50 characters for a stage, 80 for a criterion.
    #[schema(min_length = 1, max_length = 80, pattern = r"\S")]
    pub name: String,
    /// Position in the list (0 first); defaults to the end for a new entry. Moving an entry
    /// that exists shifts the others: the list stays numbered 0, 1, 2… in its new order.
    pub position: Option<i64>,
}

/// A role change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    pub role: Role,
}

/// An invitation to send.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationInput {
    pub email: String,
    pub role: Role,
}

/// Accepting an invitation. A new account needs a name and a password; an existing account
/// accepts while signed in and sends neither.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInput {
    pub name: Option<String>,
    pub password: Option<String>,
}

/// Moving an idea to a stage.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageInput {
    pub stage_id: StageId,
}

/// How the members page orders the list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MemberSort {
    /// By name, A to Z.
    #[default]
    Name,
    /// Highest role first.
    Role,
    /// Newest members first.
    Joined,
    /// Most recently active first, never active last (admins only; others get names).
    Active,
}

/// A search of the member list.
#[derive(Debug, Clone)]
pub struct MemberDirectoryQuery {
    /// A part of a name (or, for admins, of an address); empty for everyone.
    pub search: String,
    pub sort: MemberSort,
    pub offset: usize,
    pub limit: usize,
}

impl MemberDirectoryQuery {
    /// Every member, by name (for choosing a person from the whole list).
    pub fn everyone() -> Self {
        Self {
            search: String::new(),
            sort: MemberSort::Name,
            offset: 0,
            limit: usize::MAX,
        }
    }
}

/// One page of the member list and how many matched in all.
#[derive(Debug)]
pub struct MemberDirectory {
    pub items: Vec<MemberView>,
    pub total: usize,
}
