//! What the content use cases return and accept: spaces, discussions, ideas, comments, votes.
//!
//! Plain, serialisable views with an OpenAPI schema each. Inputs refuse unknown fields so that a
//! misspelt field is an error, not a silent no-op.

use ideaweave_domain::paging::IdeaSort;
use ideaweave_domain::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::*;

/// A space.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpaceView {
    pub id: SpaceId,
    pub name: String,
    pub description: String,
    pub private: bool,
    pub created_at: i64,
}

/// Kind of discussion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DiscussionKind {
    /// A challenge: a question that collects ideas, often with a deadline.
    Challenge,
    /// An open topic.
    Topic,
}

impl DiscussionKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Challenge => "challenge",
            Self::Topic => "topic",
        }
    }
    pub(crate) fn parse(s: &str) -> Self {
        if s == "topic" {
            Self::Topic
        } else {
            Self::Challenge
        }
    }
}

/// A discussion.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscussionView {
    pub id: DiscussionId,
    pub space_id: SpaceId,
    pub kind: DiscussionKind,
    pub title: String,
    pub description: String,
    pub description_html: String,
    pub open: bool,
    pub deadline: Option<i64>,
    pub accepting_ideas: bool,
    pub idea_count: i64,
    pub criteria: Vec<CriterionView>,
    pub created_by: UserId,
    pub created_at: i64,
    pub updated_at: i64,
    /// Whether you follow the discussion (told of its new ideas).
    pub following: bool,
}

/// An idea in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdeaSummary {
    pub id: IdeaId,
    pub discussion_id: DiscussionId,
    pub author: AuthorView,
    pub title: String,
    pub excerpt: String,
    pub tags: Vec<String>,
    pub stage_id: StageId,
    pub upvotes: i64,
    pub downvotes: i64,
    pub score: i64,
    pub comment_count: i64,
    /// The caller's own vote, if any.
    pub my_vote: Option<VoteDirection>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Who wrote something.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorView {
    pub id: UserId,
    pub name: String,
}

/// Rating results on one criterion.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingView {
    pub criterion_id: CriterionId,
    pub criterion: String,
    pub count: i64,
    /// Average of the ratings, absent when nobody rated.
    pub average: Option<f64>,
    /// The caller's own rating.
    pub mine: Option<u8>,
}

/// An attachment's metadata.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentView {
    pub id: AttachmentId,
    pub idea_id: IdeaId,
    pub comment_id: Option<CommentId>,
    pub uploader_id: UserId,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub created_at: i64,
    /// The image's preview, absent for files that are not images or cannot be previewed.
    pub preview: Option<PreviewView>,
}

/// An image attachment's preview (`…/attachments/{id}/preview`): a re-encoded copy at most
/// 960 pixels on its longest side, without the original's metadata.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct PreviewView {
    /// Its size in pixels; absent until the preview is made (for a file imported or restored,
    /// on its first request).
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// A link.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkView {
    pub id: LinkId,
    pub idea_id: IdeaId,
    pub comment_id: Option<CommentId>,
    pub url: String,
    pub title: String,
    pub created_by: UserId,
    pub created_at: i64,
}

/// One merge in an idea's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergeView {
    pub id: MergeId,
    pub source_id: IdeaId,
    pub source_title: String,
    pub target_id: IdeaId,
    pub merged_by: UserId,
    pub merged_at: i64,
    pub unmerged_at: Option<i64>,
}

/// An idea with everything on its page.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdeaView {
    #[serde(flatten)]
    pub summary: IdeaSummary,
    /// The body as written (Markdown).
    pub body: String,
    /// The body rendered to sanitised HTML.
    pub body_html: String,
    /// Set when this idea was merged into another; clients should show that one.
    pub merged_into: Option<IdeaId>,
    /// Set when the idea is deleted (only moderators see deleted ideas).
    pub deleted_at: Option<i64>,
    /// The title of the idea's discussion.
    pub discussion_title: String,
    pub ratings: Vec<RatingView>,
    pub attachments: Vec<AttachmentView>,
    pub links: Vec<LinkView>,
    pub merges: Vec<MergeView>,
    /// Whether you follow the idea (told of its comments and stage changes).
    pub following: bool,
}

/// A comment. Deleted comments keep their place in the thread with empty text.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentView {
    pub id: CommentId,
    pub idea_id: IdeaId,
    pub parent_id: Option<CommentId>,
    pub author: Option<AuthorView>,
    pub body: String,
    pub body_html: String,
    pub deleted: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One earlier text of an edited comment, as moderators see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentVersionView {
    /// The text as written (Markdown).
    pub body: String,
    /// The text rendered to sanitised HTML.
    pub body_html: String,
    /// When this text was written.
    pub written_at: i64,
    /// When an edit replaced it.
    pub replaced_at: i64,
}

/// A comment with every earlier text it had, for moderators (COL-03).
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentHistoryView {
    /// The comment as it reads now.
    pub comment: CommentView,
    /// Its earlier texts, oldest first; empty when it was never edited.
    pub versions: Vec<CommentVersionView>,
}

/// An idea's tally after a vote.
#[derive(Debug, Serialize, ToSchema)]
pub struct VoteTally {
    pub upvotes: i64,
    pub downvotes: i64,
    pub score: i64,
    pub my_vote: Option<VoteDirection>,
}

/// A tag: 1 to 32 letters and digits (of any script), `-` and `_`, lowercased. It may be sent
/// as people type it: a leading `#` is dropped and spaces between words become `-`
/// (`#Quick win` is `quick-win`); tags come back normalised. The pattern spells out the ASCII
/// part exactly and admits every character beyond it, since Unicode classes (`\p{L}`) are not
/// portable across JSON Schema validators; the server refuses punctuation and symbols there too.
#[derive(ToSchema)]
#[schema(
    min_length = 1,
    max_length = 32,
    pattern = r"^#*[0-9A-Za-z_ \u00AA-\uFFFF-]+$"
)]
pub struct TagText(pub String);

/// A space to create or change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpaceInput {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 20000)]
    pub description: String,
    #[serde(default)]
    pub private: bool,
}

/// A member to list in a space.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpaceMemberInput {
    pub user_id: UserId,
}

/// A discussion to open.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscussionInput {
    pub kind: DiscussionKind,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 20000)]
    pub description: String,
    /// Unix milliseconds after which no new ideas are accepted.
    pub deadline: Option<i64>,
    /// Ids of workspace criteria that ideas in this discussion are rated on.
    #[serde(default)]
    pub criteria: Vec<CriterionId>,
}

/// Changes to a discussion; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscussionPatch {
    pub kind: Option<DiscussionKind>,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: Option<String>,
    #[schema(max_length = 20000)]
    pub description: Option<String>,
    pub open: Option<bool>,
    /// Set a deadline (Unix ms), or `null` to remove it.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub deadline: Option<Option<i64>>,
    pub criteria: Option<Vec<CriterionId>>,
}

/// An idea to post.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdeaInput {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 50000)]
    pub body: String,
    #[serde(default)]
    #[schema(value_type = Vec<TagText>, max_items = 10)]
    pub tags: Vec<String>,
}

/// Changes to an idea; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdeaPatch {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: Option<String>,
    #[schema(max_length = 50000)]
    pub body: Option<String>,
    #[schema(value_type = Option<Vec<TagText>>, max_items = 10)]
    pub tags: Option<Vec<String>>,
}

/// Filters and order of an idea list.
#[derive(Debug, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IdeaListQuery {
    /// top (default), newest or trending.
    pub sort: Option<IdeaSort>,
    /// Only ideas in this stage.
    pub stage: Option<StageId>,
    /// Only ideas with this tag (typed with or without `#`).
    pub tag: Option<String>,
    /// Only your own ideas.
    pub mine: Option<bool>,
    /// Only ideas posted at or after this time (Unix milliseconds).
    pub since: Option<i64>,
    /// Only ideas posted at or before this time (Unix milliseconds).
    pub until: Option<i64>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Skip this many ideas first, for lists shown by page number (at most 10,000; not with
    /// `cursor`, which is the cheaper way on).
    #[param(minimum = 0, maximum = 10000)]
    pub offset: Option<u32>,
    /// Page size, 1 to 100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// A page of a discussion's ideas, with how many pass the filters in all.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdeaPage {
    pub items: Vec<IdeaSummary>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// How many ideas pass the filters, on every page.
    pub total: i64,
}

/// Merging an idea into another.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The idea that stays; the one in the path is the duplicate.
    pub into: IdeaId,
}

/// A vote.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteInput {
    pub direction: VoteDirection,
}

/// A rating.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingInput {
    /// 1 to 5.
    #[schema(minimum = 1, maximum = 5)]
    pub value: i64,
}

/// A comment to post.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    #[schema(min_length = 1, max_length = 10000, pattern = r"\S")]
    pub body: String,
    /// The comment this one replies to.
    pub parent_id: Option<CommentId>,
}

/// A comment's new text.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentPatch {
    #[schema(min_length = 1, max_length = 10000, pattern = r"\S")]
    pub body: String,
}

/// A link to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkInput {
    #[schema(
        min_length = 8,
        max_length = 2048,
        pattern = r"^\s*[Hh][Tt][Tt][Pp][Ss]?://"
    )]
    pub url: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub title: String,
    /// Attach to this comment of the idea instead of the idea itself.
    pub comment_id: Option<CommentId>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}
