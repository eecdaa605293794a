//! What the client sends and reads: its own types for the API's requests and answers, with the
//! fields tests use (an answer's other fields are ignored, as a real client ignores them).

use ideaweave_domain::{
    AttachmentId, CommentId, CriterionId, DiscussionId, IdeaId, InvitationId, LinkId, Role,
    SpaceId, StageId, UserId, VoteDirection, WorkspaceId,
};
use serde::{Deserialize, Serialize};

/// One page of a list.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

// ---- content -------------------------------------------------------------------------------

/// `POST …/spaces`.
#[derive(Debug, Clone, Serialize)]
pub struct NewSpace {
    pub name: String,
    pub description: String,
    pub private: bool,
}

impl NewSpace {
    /// A public space with this name and no description.
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            description: String::new(),
            private: false,
        }
    }
}

/// A space.
#[derive(Debug, Deserialize)]
pub struct Space {
    pub id: SpaceId,
    pub name: String,
    pub description: String,
    pub private: bool,
}

/// `POST …/spaces/{id}/discussions`.
#[derive(Debug, Clone, Serialize)]
pub struct NewDiscussion {
    /// `challenge` or `topic`.
    pub kind: &'static str,
    pub title: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub criteria: Vec<CriterionId>,
}

impl NewDiscussion {
    /// A topic with this title and no description.
    pub fn topic(title: &str) -> Self {
        Self {
            kind: "topic",
            title: title.to_owned(),
            description: String::new(),
            deadline: None,
            criteria: Vec::new(),
        }
    }

    /// A challenge with this title, rated on `criteria`.
    pub fn challenge(title: &str, criteria: &[CriterionId]) -> Self {
        Self {
            kind: "challenge",
            criteria: criteria.to_vec(),
            ..Self::topic(title)
        }
    }
}

/// A discussion.
#[derive(Debug, Deserialize)]
pub struct Discussion {
    pub id: DiscussionId,
    pub space_id: SpaceId,
    pub kind: String,
    pub title: String,
    pub open: bool,
    pub accepting_ideas: bool,
    pub idea_count: i64,
}

/// `POST …/discussions/{id}/ideas`.
#[derive(Debug, Clone, Serialize)]
pub struct NewIdea {
    pub title: String,
    pub body: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

impl NewIdea {
    /// An idea with this title and body and no tags.
    pub fn new(title: &str, body: &str) -> Self {
        Self {
            title: title.to_owned(),
            body: body.to_owned(),
            tags: Vec::new(),
        }
    }
}

/// Who wrote something.
#[derive(Debug, Deserialize)]
pub struct Author {
    pub id: UserId,
    pub name: String,
}

/// An idea in a list.
#[derive(Debug, Deserialize)]
pub struct IdeaSummary {
    pub id: IdeaId,
    pub discussion_id: DiscussionId,
    pub author: Author,
    pub title: String,
    pub excerpt: String,
    pub tags: Vec<String>,
    pub stage_id: StageId,
    pub upvotes: i64,
    pub downvotes: i64,
    pub score: i64,
    pub comment_count: i64,
    pub my_vote: Option<VoteDirection>,
}

/// A rating of an idea on one criterion.
#[derive(Debug, Deserialize)]
pub struct Rating {
    pub criterion_id: CriterionId,
    pub count: i64,
    pub average: Option<f64>,
    pub mine: Option<u8>,
}

/// A file on an idea or comment.
#[derive(Debug, Deserialize)]
pub struct Attachment {
    pub id: AttachmentId,
    pub idea_id: IdeaId,
    pub comment_id: Option<CommentId>,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
}

/// A link on an idea or comment.
#[derive(Debug, Deserialize)]
pub struct Link {
    pub id: LinkId,
    pub idea_id: IdeaId,
    pub comment_id: Option<CommentId>,
    pub url: String,
    pub title: String,
}

/// An idea with everything on it.
#[derive(Debug, Deserialize)]
pub struct Idea {
    #[serde(flatten)]
    pub summary: IdeaSummary,
    pub body: String,
    pub body_html: String,
    pub merged_into: Option<IdeaId>,
    pub deleted_at: Option<i64>,
    pub ratings: Vec<Rating>,
    pub attachments: Vec<Attachment>,
    pub links: Vec<Link>,
    pub merges: Vec<Merge>,
    /// Whether the caller follows it.
    #[serde(default)]
    pub following: bool,
}

/// An idea merged into another.
#[derive(Debug, Deserialize)]
pub struct Merge {
    pub source_id: IdeaId,
    pub target_id: IdeaId,
    pub unmerged_at: Option<i64>,
}

impl Idea {
    /// The idea's id.
    pub fn id(&self) -> IdeaId {
        self.summary.id
    }
}

/// `POST …/ideas/{id}/comments`.
#[derive(Debug, Clone, Serialize)]
pub struct NewComment {
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<CommentId>,
}

impl NewComment {
    /// A comment on the idea itself.
    pub fn new(body: &str) -> Self {
        Self {
            body: body.to_owned(),
            parent_id: None,
        }
    }

    /// A reply to `parent`.
    pub fn reply(parent: CommentId, body: &str) -> Self {
        Self {
            parent_id: Some(parent),
            ..Self::new(body)
        }
    }
}

/// A comment.
#[derive(Debug, Deserialize)]
pub struct Comment {
    pub id: CommentId,
    pub idea_id: IdeaId,
    pub parent_id: Option<CommentId>,
    pub author: Option<Author>,
    pub body: String,
    pub body_html: String,
    pub deleted: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One earlier text of an edited comment.
#[derive(Debug, Deserialize)]
pub struct CommentVersion {
    pub body: String,
    pub body_html: String,
    pub written_at: i64,
    pub replaced_at: i64,
}

/// A comment with its earlier texts, as moderators see it.
#[derive(Debug, Deserialize)]
pub struct CommentHistory {
    pub comment: Comment,
    pub versions: Vec<CommentVersion>,
}

/// An idea's votes.
#[derive(Debug, Deserialize)]
pub struct VoteTally {
    pub upvotes: i64,
    pub downvotes: i64,
    pub score: i64,
    pub my_vote: Option<VoteDirection>,
}

// ---- workspace -----------------------------------------------------------------------------

/// A workspace as its member sees it.
#[derive(Debug, Deserialize)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub slug: String,
    pub name: String,
    pub my_role: Role,
    pub stages: Vec<Stage>,
}

/// A stage ideas move through.
#[derive(Debug, Deserialize)]
pub struct Stage {
    pub id: StageId,
    pub name: String,
}

/// A member of a workspace (the address only for admins).
#[derive(Debug, Deserialize)]
pub struct Member {
    pub user_id: UserId,
    pub name: String,
    pub email: Option<String>,
    pub role: Role,
}

/// An open invitation.
#[derive(Debug, Deserialize)]
pub struct Invitation {
    pub id: InvitationId,
    pub email: String,
    pub role: Role,
    pub expires_at: i64,
}

/// A new invitation, with its secret when no mail carries it.
#[derive(Debug, Deserialize)]
pub struct CreatedInvitation {
    pub invitation: Invitation,
    pub token: Option<String>,
    pub accept_url: Option<String>,
}

/// What an invitation link is for.
#[derive(Debug, Deserialize)]
pub struct InvitationInfo {
    pub workspace_name: String,
    pub workspace_slug: String,
    pub email: String,
    pub role: Role,
}

// ---- identity ------------------------------------------------------------------------------

/// An account as its owner sees it.
#[derive(Debug, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
}

/// A workspace the caller belongs to.
#[derive(Debug, Deserialize)]
pub struct Membership {
    pub slug: String,
    pub name: String,
    pub role: Role,
}

/// `GET /me`.
#[derive(Debug, Deserialize)]
pub struct Me {
    pub user: User,
    pub workspaces: Vec<Membership>,
}

/// `POST /session` when no second factor is needed.
#[derive(Debug, Deserialize)]
pub struct SignedIn {
    pub user: User,
    pub csrf_token: String,
}

/// `POST /session` when a second factor is needed (202).
#[derive(Debug, Deserialize)]
pub struct SecondFactorChallenge {
    pub challenge: String,
    pub methods: Vec<String>,
    pub expires_in_secs: u64,
}
