//! Rows as the store returns them.
//!
//! Each record is what one query reads, with typed ids. Roles, scopes and kinds are returned as
//! the text stored; the `app` crate parses them into domain types and treats a value it cannot
//! parse as corruption. Content and personal data are `Vec<u8>`: sealed values, which only the
//! `app` crate's keyring opens (ENC-01).

use ideaweave_domain::*;
use sqlx::FromRow;
use uuid::Uuid;

/// An account.
#[derive(Debug, Clone, FromRow)]
pub struct UserRecord {
    #[sqlx(try_from = "Uuid")]
    pub id: UserId,
    pub email: Vec<u8>,
    pub name: Vec<u8>,
    pub password_hash: Option<String>,
    pub is_operator: bool,
    pub created_at: i64,
}

/// A live session, found by the hash of its cookie.
#[derive(Debug, Clone, FromRow)]
pub struct SessionRecord {
    /// The public id the session is listed and revoked by (never the cookie's hash).
    pub id: Uuid,
    #[sqlx(try_from = "Uuid")]
    pub user_id: UserId,
    pub csrf_token: String,
    pub expires_at: i64,
    /// How the person signed in: `password`, `mfa` or `passkey`.
    pub auth_level: String,
    /// When the person last proved who they are in this session (sign-in or re-authentication).
    pub reauth_at: i64,
    /// When the session was last used (for the idle timeout).
    pub last_seen_at: i64,
    /// The session's person is an operator of the instance.
    pub is_operator: bool,
    /// The time zone its person chose to read times in, if they chose one.
    pub time_zone: Option<String>,
}

/// A workspace.
#[derive(Debug, Clone, FromRow)]
pub struct WorkspaceRecord {
    #[sqlx(try_from = "Uuid")]
    pub id: WorkspaceId,
    pub slug: String,
    pub name: Vec<u8>,
    pub created_at: i64,
}

/// A workspace with instance-level counts, for the operator: no content, not even its name,
/// which is sealed with the workspace's key (ACC-04).
#[derive(Debug, Clone, FromRow)]
pub struct WorkspaceSummary {
    #[sqlx(try_from = "Uuid")]
    pub id: WorkspaceId,
    pub slug: String,
    pub created_at: i64,
    pub members: i64,
}

/// What a valid API token grants: who, in which workspace, with which role and scope.
#[derive(Debug, Clone, FromRow)]
pub struct TokenGrant {
    #[sqlx(try_from = "Uuid")]
    pub token_id: TokenId,
    #[sqlx(try_from = "Uuid")]
    pub user_id: UserId,
    pub scope: String,
    pub role: String,
    pub slug: String,
    /// The day the token was last used, if ever.
    pub last_used_on: Option<i64>,
}

/// A user's membership as seen from the user.
#[derive(Debug, Clone, FromRow)]
pub struct MembershipRecord {
    #[sqlx(try_from = "Uuid")]
    pub workspace_id: WorkspaceId,
    pub slug: String,
    pub name: Vec<u8>,
    pub role: String,
}

/// A member as seen in a workspace's member list.
#[derive(Debug, Clone, FromRow)]
pub struct MemberRecord {
    #[sqlx(try_from = "Uuid")]
    pub user_id: UserId,
    pub email: Vec<u8>,
    pub name: Vec<u8>,
    pub role: String,
    pub joined_at: i64,
    /// The day the member last used the workspace, if recorded.
    pub last_active_on: Option<i64>,
    /// When the member last marked the workspace's activity seen (not read by every listing).
    #[sqlx(default)]
    pub activity_seen_at: Option<i64>,
}

/// An API token's metadata (never its secret).
#[derive(Debug, Clone, FromRow)]
pub struct TokenRecord {
    #[sqlx(try_from = "Uuid")]
    pub id: TokenId,
    #[sqlx(try_from = "Uuid")]
    pub user_id: UserId,
    pub name: Vec<u8>,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The day the token was last used, if ever.
    pub last_used_on: Option<i64>,
}

/// An invitation.
#[derive(Debug, Clone, FromRow)]
pub struct InvitationRecord {
    #[sqlx(try_from = "Uuid")]
    pub id: InvitationId,
    #[sqlx(try_from = "Uuid")]
    pub workspace_id: WorkspaceId,
    pub email: Vec<u8>,
    pub role: String,
    #[sqlx(try_from = "Uuid")]
    pub invited_by: UserId,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A stage of the idea pipeline.
#[derive(Debug, Clone, FromRow)]
pub struct StageRecord {
    #[sqlx(try_from = "Uuid")]
    pub id: StageId,
    pub name: Vec<u8>,
    pub position: i64,
}

/// A rating criterion.
#[derive(Debug, Clone, FromRow)]
pub struct CriterionRecord {
    #[sqlx(try_from = "Uuid")]
    pub id: CriterionId,
    pub name: Vec<u8>,
    pub position: i64,
}

/// A space, with whether the user it was read for is listed in it.
#[derive(Debug, Clone, FromRow)]
pub struct SpaceRecord {
    #[sqlx(try_from = "Uuid")]
    pub id: SpaceId,
    pub name: Vec<u8>,
    pub description: Vec<u8>,
    pub private: bool,
    pub listed: bool,
    pub created_at: i64,
}

/// A discussion, with its space's visibility as seen by the user it was read for.
#[derive(Debug, Clone, FromRow)]
pub struct DiscussionRecord {
    #[sqlx(try_from = "Uuid")]
    pub id: DiscussionId,
    #[sqlx(try_from = "Uuid")]
    pub space_id: SpaceId,
    pub kind: String,
    pub title: Vec<u8>,
    pub description: Vec<u8>,
    pub open: bool,
    pub deadline: Option<i64>,
    #[sqlx(try_from = "Uuid")]
    pub created_by: UserId,
    pub created_at: i64,
    pub updated_at: i64,
    pub space_private: bool,
    pub space_listed: bool,
    /// Whether the viewer follows it.
    pub following: bool,
    pub idea_count: i64,
}

/// The facts about an idea that authorisation needs: where it lives and who wrote it.
#[derive(Debug, Clone, FromRow)]
pub struct IdeaScope {
    #[sqlx(try_from = "Uuid")]
    pub id: IdeaId,
    #[sqlx(try_from = "Uuid")]
    pub discussion_id: DiscussionId,
    #[sqlx(try_from = "Uuid")]
    pub author_id: UserId,
    pub created_at: i64,
    pub deleted_at: Option<i64>,
    pub merged_into: Option<Uuid>,
    /// The discussion's title, sealed.
    pub discussion_title: Vec<u8>,
    pub discussion_open: bool,
    pub discussion_deadline: Option<i64>,
    pub space_private: bool,
    pub space_listed: bool,
}

/// An idea as shown in lists and on its page.
#[derive(Debug, Clone, FromRow)]
pub struct IdeaRecord {
    #[sqlx(try_from = "Uuid")]
    pub id: IdeaId,
    #[sqlx(try_from = "Uuid")]
    pub discussion_id: DiscussionId,
    #[sqlx(try_from = "Uuid")]
    pub author_id: UserId,
    pub author_name: Vec<u8>,
    /// Title, excerpt and tags, sealed together so a list opens one value per idea.
    pub summary: Vec<u8>,
    #[sqlx(try_from = "Uuid")]
    pub stage_id: StageId,
    pub upvotes: i64,
    pub downvotes: i64,
    pub score: i64,
    pub hot: f64,
    pub comment_count: i64,
    pub merged_into: Option<Uuid>,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub my_vote: Option<i64>,
}

/// A comment.
#[derive(Debug, Clone, FromRow)]
pub struct CommentRecord {
    #[sqlx(try_from = "Uuid")]
    pub id: CommentId,
    #[sqlx(try_from = "Uuid")]
    pub idea_id: IdeaId,
    pub parent_id: Option<Uuid>,
    #[sqlx(try_from = "Uuid")]
    pub author_id: UserId,
    pub author_name: Vec<u8>,
    pub body: Vec<u8>,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
}

/// An idea, its scope, whether files, links or merges hang off it, its ratings and comments.
#[derive(Debug, Clone)]
pub struct IdeaWithScope {
    pub scope: IdeaScope,
    pub idea: IdeaRecord,
    /// The full body, sealed.
    pub body: Vec<u8>,
    pub has_attachments: bool,
    pub has_links: bool,
    pub has_merges: bool,
    /// Whether the viewer follows it.
    pub following: bool,
    /// The criteria of its discussion with their tallies and the viewer's own rating, in order.
    pub ratings: Vec<IdeaRatingRecord>,
    /// Its first comments (as many as asked for), oldest first.
    pub comments: Vec<CommentRecord>,
}

/// A criterion an idea is rated on, with its tally and the viewer's own rating.
#[derive(Debug, Clone, FromRow)]
pub struct IdeaRatingRecord {
    #[sqlx(try_from = "Uuid")]
    pub id: CriterionId,
    pub name: Vec<u8>,
    pub position: i64,
    pub count: i64,
    pub average: Option<f64>,
    pub mine: Option<i64>,
}

/// An uploaded file's metadata.
#[derive(Debug, Clone, FromRow)]
pub struct AttachmentRecord {
    #[sqlx(try_from = "Uuid")]
    pub id: AttachmentId,
    #[sqlx(try_from = "Uuid")]
    pub idea_id: IdeaId,
    pub comment_id: Option<Uuid>,
    #[sqlx(try_from = "Uuid")]
    pub uploader_id: UserId,
    pub filename: Vec<u8>,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: Vec<u8>,
    pub created_at: i64,
    /// The preview's size; `None` before one was tried, `0 × 0` when none can be made.
    pub preview_width: Option<i32>,
    pub preview_height: Option<i32>,
    /// True when it hangs on a comment that is deleted.
    pub comment_deleted: bool,
}

/// A link on an idea or comment.
#[derive(Debug, Clone, FromRow)]
pub struct LinkRecord {
    #[sqlx(try_from = "Uuid")]
    pub id: LinkId,
    #[sqlx(try_from = "Uuid")]
    pub idea_id: IdeaId,
    pub comment_id: Option<Uuid>,
    pub url: Vec<u8>,
    pub title: Vec<u8>,
    #[sqlx(try_from = "Uuid")]
    pub created_by: UserId,
    pub created_at: i64,
    /// True when it hangs on a comment that is deleted.
    pub comment_deleted: bool,
}

/// A recorded merge of one idea into another.
#[derive(Debug, Clone, FromRow)]
pub struct MergeRecord {
    #[sqlx(try_from = "Uuid")]
    pub id: MergeId,
    #[sqlx(try_from = "Uuid")]
    pub source_id: IdeaId,
    #[sqlx(try_from = "Uuid")]
    pub target_id: IdeaId,
    /// The merged idea's sealed summary (its title is shown).
    pub source_summary: Vec<u8>,
    #[sqlx(try_from = "Uuid")]
    pub merged_by: UserId,
    pub merged_at: i64,
    pub unmerged_at: Option<i64>,
    /// True when the merged idea has since been deleted.
    pub source_deleted: bool,
}

/// A password reset token (its secret's hash is the lookup key and is not read back).
#[derive(Debug, Clone, FromRow)]
pub struct PasswordResetRecord {
    pub id: Uuid,
    #[sqlx(try_from = "Uuid")]
    pub user_id: UserId,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}
