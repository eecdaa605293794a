//! Typed identifiers.
//!
//! Every entity has its own id type so that an idea id can never be passed where a comment id is
//! expected. Ids are UUIDv7: unguessable enough to leak nothing about other tenants' volume, and
//! time-ordered so that "newest first" is an index scan on the primary key.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            /// The underlying UUID, for storage.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }
    )*};
}

typed_id!(
    /// A workspace: the tenant unit.
    WorkspaceId,
    /// A person's account on this instance.
    UserId,
    /// A space inside a workspace.
    SpaceId,
    /// A discussion (challenge or topic) inside a space.
    DiscussionId,
    /// An idea inside a discussion.
    IdeaId,
    /// A comment on an idea.
    CommentId,
    /// A stage of the workspace's idea pipeline.
    StageId,
    /// A rating criterion defined by the workspace.
    CriterionId,
    /// An invitation into a workspace.
    InvitationId,
    /// An API token.
    TokenId,
    /// An uploaded file.
    AttachmentId,
    /// A link attached to an idea or comment.
    LinkId,
    /// A recorded merge of one idea into another.
    MergeId,
    /// An export of a whole workspace, requested on the web.
    ExportId,
    /// A request on a workspace's request desk.
    RequestId,
    /// An invitation of the operator's support staff into a workspace.
    SupportGrantId,
);
