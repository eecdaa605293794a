//! Workspace export and import (LIF-01): every row of a workspace, read in pages in a fixed
//! order (so an export is deterministic and memory stays bounded whatever the size), and the
//! same rows written back with their ids and times. Storage moves sealed bytes; the application
//! opens and seals them.

use uuid::Uuid;

use crate::workspace::WorkspaceRepo;
use crate::{StoreResult, Tx};

/// A person the workspace refers to: a member, someone who left but whose contributions remain,
/// or a former member (an erased person's stand-in).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PersonRow {
    pub id: Uuid,
    pub email: Vec<u8>,
    pub name: Vec<u8>,
    pub former_member: bool,
    pub role: Option<String>,
    pub joined_at: Option<i64>,
    pub notifications: Option<String>,
}

/// A stage or rating criterion.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NamedRow {
    pub id: Uuid,
    pub name: Vec<u8>,
    pub position: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SpaceRow {
    pub id: Uuid,
    pub name: Vec<u8>,
    pub description: Vec<u8>,
    pub private: bool,
    pub created_by: Uuid,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DiscussionRow {
    pub id: Uuid,
    pub space_id: Uuid,
    pub kind: String,
    pub title: Vec<u8>,
    pub description: Vec<u8>,
    pub open: bool,
    pub deadline: Option<i64>,
    pub created_by: Uuid,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdeaRow {
    pub id: Uuid,
    pub discussion_id: Uuid,
    pub author_id: Uuid,
    pub summary: Vec<u8>,
    pub body: Vec<u8>,
    pub stage_id: Uuid,
    pub merged_into: Option<Uuid>,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub deleted_by: Option<Uuid>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CommentRow {
    pub id: Uuid,
    pub idea_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub author_id: Uuid,
    pub body: Vec<u8>,
    pub moved_from: Option<Uuid>,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub deleted_by: Option<Uuid>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VoteRow {
    pub idea_id: Uuid,
    pub user_id: Uuid,
    pub value: i64,
    pub moved_from: Option<Uuid>,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RatingRow {
    pub idea_id: Uuid,
    pub criterion_id: Uuid,
    pub user_id: Uuid,
    pub value: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttachmentRow {
    pub id: Uuid,
    pub idea_id: Uuid,
    pub comment_id: Option<Uuid>,
    pub uploader_id: Uuid,
    pub filename: Vec<u8>,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: Vec<u8>,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkRow {
    pub id: Uuid,
    pub idea_id: Uuid,
    pub comment_id: Option<Uuid>,
    pub url: Vec<u8>,
    pub title: Vec<u8>,
    pub created_by: Uuid,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MergeRow {
    pub id: Uuid,
    pub source_id: Uuid,
    pub target_id: Uuid,
    pub merged_by: Uuid,
    pub merged_at: i64,
    pub unmerged_by: Option<Uuid>,
    pub unmerged_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvitationRow {
    pub id: Uuid,
    pub email: Vec<u8>,
    pub role: String,
    pub invited_by: Uuid,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub accepted_by: Option<Uuid>,
    pub revoked_at: Option<i64>,
}

/// Reads one page of `$table` after the key `$after` (or from the start), in key order.
macro_rules! page_by_id {
    ($self:ident, $row:ty, $sql:literal, $after:expr, $limit:expr) => {{
        let ws = $self.ws;
        let after: Option<Uuid> = $after;
        let rows: Vec<$row> = on_conn!($self.tx, |c| {
            sqlx::query_as($sql)
                .bind(ws)
                .bind(after)
                .bind($limit)
                .fetch_all(c)
                .await?
        });
        Ok(rows)
    }};
}

impl WorkspaceRepo<'_> {
    /// The workspace's slug, sealed name, creation time and erasure mode.
    pub async fn export_header(&mut self) -> StoreResult<(String, Vec<u8>, i64, String)> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::EXPORT_HEADER)
                .bind(ws)
                .fetch_one(c)
                .await?
        }))
    }

    /// Everyone the workspace refers to, by id: members, and people whose contributions or
    /// acts it keeps.
    pub async fn export_people(&mut self) -> StoreResult<Vec<PersonRow>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(
                "WITH refs(id) AS ( \
                   SELECT user_id FROM memberships WHERE workspace_id = $1 \
                   UNION SELECT author_id FROM ideas WHERE workspace_id = $1 \
                   UNION SELECT author_id FROM comments WHERE workspace_id = $1 \
                   UNION SELECT user_id FROM votes WHERE workspace_id = $1 \
                   UNION SELECT user_id FROM ratings WHERE workspace_id = $1 \
                   UNION SELECT uploader_id FROM attachments WHERE workspace_id = $1 \
                   UNION SELECT created_by FROM links WHERE workspace_id = $1 \
                   UNION SELECT subject_id FROM privacy_requests WHERE workspace_id = $1 \
                   UNION SELECT resolved_by FROM privacy_requests WHERE workspace_id = $1 \
                   UNION SELECT recorded_by FROM privacy_requests WHERE workspace_id = $1) \
                 SELECT u.id, u.email, u.name, u.former_member_of IS NOT NULL AS former_member, \
                   m.role, m.joined_at, p.preference AS notifications \
                 FROM refs JOIN users u ON u.id = refs.id \
                 LEFT JOIN memberships m ON m.workspace_id = $1 AND m.user_id = u.id \
                 LEFT JOIN notification_preferences p ON p.workspace_id = $1 AND p.user_id = u.id \
                 ORDER BY u.id",
            )
            .bind(ws)
            .fetch_all(c)
            .await?
        }))
    }

    /// How many discussions, ideas, comments, votes, ratings, attachments and links there
    /// are: the records an export counts its progress in.
    pub async fn export_total(&mut self) -> StoreResult<u64> {
        let ws = self.ws;
        let n: i64 = on_conn!(self.tx, |c| {
            sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM discussions WHERE workspace_id = $1)                  + (SELECT COUNT(*) FROM ideas WHERE workspace_id = $1)                  + (SELECT COUNT(*) FROM comments WHERE workspace_id = $1)                  + (SELECT COUNT(*) FROM votes WHERE workspace_id = $1)                  + (SELECT COUNT(*) FROM ratings WHERE workspace_id = $1)                  + (SELECT COUNT(*) FROM attachments WHERE workspace_id = $1)                  + (SELECT COUNT(*) FROM links WHERE workspace_id = $1)",
            ).bind(ws).fetch_one(c).await?
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The stages, by id.
    pub async fn export_stages(&mut self) -> StoreResult<Vec<NamedRow>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::EXPORT_STAGES)
                .bind(ws)
                .fetch_all(c)
                .await?
        }))
    }

    /// The rating criteria, by id.
    pub async fn export_criteria(&mut self) -> StoreResult<Vec<NamedRow>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::EXPORT_CRITERIA)
                .bind(ws)
                .fetch_all(c)
                .await?
        }))
    }

    /// The spaces, by id.
    pub async fn export_spaces(&mut self) -> StoreResult<Vec<SpaceRow>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::EXPORT_SPACES)
                .bind(ws)
                .fetch_all(c)
                .await?
        }))
    }

    /// Who is listed in which space, by space and person.
    pub async fn export_space_members(&mut self) -> StoreResult<Vec<(Uuid, Uuid)>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::EXPORT_SPACE_MEMBERS)
                .bind(ws)
                .fetch_all(c)
                .await?
        }))
    }

    /// A page of discussions after `after`, by id.
    pub async fn export_discussions(
        &mut self,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<DiscussionRow>> {
        page_by_id!(
            self,
            DiscussionRow,
            "SELECT id, space_id, kind, title, description, open, deadline, created_by, created_at, updated_at \
             FROM discussions WHERE workspace_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3",
            after,
            limit
        )
    }

    /// Which criteria each discussion rates on, by discussion and criterion.
    pub async fn export_discussion_criteria(&mut self) -> StoreResult<Vec<(Uuid, Uuid)>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::EXPORT_DISCUSSION_CRITERIA)
                .bind(ws)
                .fetch_all(c)
                .await?
        }))
    }

    /// A page of ideas after `after`, by id.
    pub async fn export_ideas(
        &mut self,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<IdeaRow>> {
        page_by_id!(
            self,
            IdeaRow,
            "SELECT id, discussion_id, author_id, summary, body, stage_id, merged_into, created_at, updated_at, deleted_at, deleted_by \
             FROM ideas WHERE workspace_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3",
            after,
            limit
        )
    }

    /// A page of comments after `after`, by id.
    pub async fn export_comments(
        &mut self,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<CommentRow>> {
        page_by_id!(
            self,
            CommentRow,
            "SELECT id, idea_id, parent_id, author_id, body, moved_from, created_at, updated_at, deleted_at, deleted_by \
             FROM comments WHERE workspace_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3",
            after,
            limit
        )
    }

    /// A page of attachments after `after`, by id.
    pub async fn export_attachments(
        &mut self,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<AttachmentRow>> {
        page_by_id!(
            self,
            AttachmentRow,
            "SELECT id, idea_id, comment_id, uploader_id, filename, content_type, size_bytes, sha256, created_at \
             FROM attachments WHERE workspace_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3",
            after,
            limit
        )
    }

    /// A page of links after `after`, by id.
    pub async fn export_links(
        &mut self,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<LinkRow>> {
        page_by_id!(
            self,
            LinkRow,
            "SELECT id, idea_id, comment_id, url, title, created_by, created_at \
             FROM links WHERE workspace_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3",
            after,
            limit
        )
    }

    /// A page of votes after the key (idea, person), in key order.
    pub async fn export_votes(
        &mut self,
        after: Option<(Uuid, Uuid)>,
        limit: i64,
    ) -> StoreResult<Vec<VoteRow>> {
        let ws = self.ws;
        let (a, b) = after.unzip();
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(
                "SELECT idea_id, user_id, value, moved_from, updated_at FROM votes \
                 WHERE workspace_id = $1 AND ($2 IS NULL OR idea_id > $2 OR (idea_id = $2 AND user_id > $3)) \
                 ORDER BY idea_id, user_id LIMIT $4",
            ).bind(ws).bind(a).bind(b).bind(limit).fetch_all(c).await?
        }))
    }

    /// A page of ratings after the key (idea, criterion, person), in key order.
    pub async fn export_ratings(
        &mut self,
        after: Option<(Uuid, Uuid, Uuid)>,
        limit: i64,
    ) -> StoreResult<Vec<RatingRow>> {
        let ws = self.ws;
        let (a, b, p) = match after {
            Some((a, b, p)) => (Some(a), Some(b), Some(p)),
            None => (None, None, None),
        };
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(
                "SELECT idea_id, criterion_id, user_id, value, updated_at FROM ratings \
                 WHERE workspace_id = $1 AND ($2 IS NULL OR idea_id > $2 OR (idea_id = $2 AND (criterion_id > $3 \
                   OR (criterion_id = $3 AND user_id > $4)))) \
                 ORDER BY idea_id, criterion_id, user_id LIMIT $5",
            ).bind(ws).bind(a).bind(b).bind(p).bind(limit).fetch_all(c).await?
        }))
    }

    /// Every merge record, by id.
    pub async fn export_merges(&mut self) -> StoreResult<Vec<MergeRow>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::EXPORT_MERGES)
                .bind(ws)
                .fetch_all(c)
                .await?
        }))
    }

    /// Every invitation, by id.
    pub async fn export_invitations(&mut self) -> StoreResult<Vec<InvitationRow>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::EXPORT_INVITATIONS)
                .bind(ws)
                .fetch_all(c)
                .await?
        }))
    }

    // ---- import ---------------------------------------------------------------------------

    /// Sets the imported workspace's erasure mode and creation time.
    pub async fn import_header(&mut self, created_at: i64, erasure_mode: &str) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::IMPORT_HEADER)
                .bind(ws)
                .bind(created_at)
                .bind(erasure_mode)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Replaces the workspace's stages (a new workspace comes with default ones).
    pub async fn import_clear_stages(&mut self) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::IMPORT_CLEAR_STAGES)
                .bind(ws)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Inserts a stage (`criteria = false`) or a rating criterion.
    pub async fn import_named(&mut self, criteria: bool, r: &NamedRow) -> StoreResult<()> {
        let ws = self.ws;
        let sql = if criteria {
            "INSERT INTO rating_criteria (workspace_id, id, name, position) VALUES ($1, $2, $3, $4)"
        } else {
            "INSERT INTO stages (workspace_id, id, name, position) VALUES ($1, $2, $3, $4)"
        };
        on_conn!(self.tx, |c| {
            sqlx::query(sql)
                .bind(ws)
                .bind(r.id)
                .bind(&r.name)
                .bind(r.position)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Inserts a membership with its role, join time and notification preference.
    pub async fn import_member(
        &mut self,
        user: Uuid,
        role: &str,
        joined_at: i64,
        notifications: Option<&str>,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::IMPORT_MEMBER)
                .bind(ws)
                .bind(user)
                .bind(role)
                .bind(joined_at)
                .execute(&mut *c)
                .await?;
            if let Some(p) = notifications {
                sqlx::query(sql::IMPORT_MEMBER_2)
                    .bind(ws)
                    .bind(user)
                    .bind(p)
                    .bind(joined_at)
                    .execute(&mut *c)
                    .await?;
            }
        });
        Ok(())
    }

    pub async fn import_space(&mut self, r: &SpaceRow) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::IMPORT_SPACE)
                .bind(ws)
                .bind(r.id)
                .bind(&r.name)
                .bind(&r.description)
                .bind(r.private)
                .bind(r.created_by)
                .bind(r.created_at)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    pub async fn import_space_member(&mut self, space: Uuid, user: Uuid) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::IMPORT_SPACE_MEMBER)
                .bind(ws)
                .bind(space)
                .bind(user)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    pub async fn import_discussion(&mut self, r: &DiscussionRow) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO discussions (workspace_id, id, space_id, kind, title, description, open, deadline, idea_count, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11)",
            ).bind(ws).bind(r.id).bind(r.space_id).bind(&r.kind).bind(&r.title).bind(&r.description).bind(r.open)
            .bind(r.deadline).bind(r.created_by).bind(r.created_at).bind(r.updated_at).execute(c).await?;
        });
        Ok(())
    }

    pub async fn import_discussion_criterion(
        &mut self,
        discussion: Uuid,
        criterion: Uuid,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::IMPORT_DISCUSSION_CRITERION)
                .bind(ws)
                .bind(discussion)
                .bind(criterion)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Inserts an idea with its tags' index entries; counts are redone by
    /// [`Self::import_recount`].
    pub async fn import_idea(&mut self, r: &IdeaRow, tag_index: &[Vec<u8>]) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO ideas (workspace_id, id, discussion_id, author_id, summary, body, stage_id, hot, merged_into, created_at, updated_at, deleted_at, deleted_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $11, $12)",
            ).bind(ws).bind(r.id).bind(r.discussion_id).bind(r.author_id).bind(&r.summary).bind(&r.body).bind(r.stage_id)
            .bind(r.merged_into).bind(r.created_at).bind(r.updated_at).bind(r.deleted_at).bind(r.deleted_by).execute(&mut *c).await?;
            for t in tag_index {
                sqlx::query(sql::IMPORT_IDEA)
                    .bind(ws)
                    .bind(r.id)
                    .bind(t)
                    .execute(&mut *c)
                    .await?;
            }
        });
        Ok(())
    }

    pub async fn import_comment(&mut self, r: &CommentRow) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO comments (workspace_id, id, idea_id, parent_id, author_id, body, moved_from, created_at, updated_at, deleted_at, deleted_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            ).bind(ws).bind(r.id).bind(r.idea_id).bind(r.parent_id).bind(r.author_id).bind(&r.body).bind(r.moved_from)
            .bind(r.created_at).bind(r.updated_at).bind(r.deleted_at).bind(r.deleted_by).execute(c).await?;
        });
        Ok(())
    }

    pub async fn import_vote(&mut self, r: &VoteRow) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::IMPORT_VOTE)
                .bind(ws)
                .bind(r.idea_id)
                .bind(r.user_id)
                .bind(r.value)
                .bind(r.moved_from)
                .bind(r.updated_at)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    pub async fn import_rating(&mut self, r: &RatingRow) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::IMPORT_RATING)
                .bind(ws)
                .bind(r.idea_id)
                .bind(r.criterion_id)
                .bind(r.user_id)
                .bind(r.value)
                .bind(r.updated_at)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    pub async fn import_attachment(&mut self, r: &AttachmentRow) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO attachments (workspace_id, id, idea_id, comment_id, uploader_id, filename, content_type, size_bytes, sha256, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            ).bind(ws).bind(r.id).bind(r.idea_id).bind(r.comment_id).bind(r.uploader_id).bind(&r.filename).bind(&r.content_type)
            .bind(r.size_bytes).bind(&r.sha256).bind(r.created_at).execute(c).await?;
        });
        Ok(())
    }

    pub async fn import_link(&mut self, r: &LinkRow) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::IMPORT_LINK)
                .bind(ws)
                .bind(r.id)
                .bind(r.idea_id)
                .bind(r.comment_id)
                .bind(&r.url)
                .bind(&r.title)
                .bind(r.created_by)
                .bind(r.created_at)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    pub async fn import_merge(&mut self, r: &MergeRow) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::IMPORT_MERGE)
                .bind(ws)
                .bind(r.id)
                .bind(r.source_id)
                .bind(r.target_id)
                .bind(r.merged_by)
                .bind(r.merged_at)
                .bind(r.unmerged_by)
                .bind(r.unmerged_at)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Inserts an invitation; `token_hash` is fresh (the link of the old instance does not
    /// work here).
    pub async fn import_invitation(
        &mut self,
        r: &InvitationRow,
        token_hash: &[u8],
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO invitations (workspace_id, id, email, role, token_hash, invited_by, created_at, expires_at, accepted_at, accepted_by, revoked_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            ).bind(ws).bind(r.id).bind(&r.email).bind(&r.role).bind(token_hash).bind(r.invited_by).bind(r.created_at)
            .bind(r.expires_at).bind(r.accepted_at).bind(r.accepted_by).bind(r.revoked_at).execute(c).await?;
        });
        Ok(())
    }

    /// Redoes every count of the workspace (votes, comments, ideas per discussion) from the
    /// rows; returns each idea's id, score and creation time, for the hot score.
    pub async fn import_recount(&mut self) -> StoreResult<Vec<(Uuid, i64, i64)>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query(
                "UPDATE ideas SET \
                 upvotes = (SELECT COUNT(*) FROM votes v WHERE v.workspace_id = ideas.workspace_id AND v.idea_id = ideas.id AND v.value = 1), \
                 downvotes = (SELECT COUNT(*) FROM votes v WHERE v.workspace_id = ideas.workspace_id AND v.idea_id = ideas.id AND v.value = -1), \
                 comment_count = (SELECT COUNT(*) FROM comments cm WHERE cm.workspace_id = ideas.workspace_id AND cm.idea_id = ideas.id AND cm.deleted_at IS NULL) \
                 WHERE workspace_id = $1",
            ).bind(ws).execute(&mut *c).await?;
            sqlx::query(sql::IMPORT_RECOUNT)
                .bind(ws)
                .execute(&mut *c)
                .await?;
            sqlx::query(
                "UPDATE discussions SET idea_count = (SELECT COUNT(*) FROM ideas i WHERE i.workspace_id = discussions.workspace_id \
                 AND i.discussion_id = discussions.id AND i.deleted_at IS NULL AND i.merged_into IS NULL) WHERE workspace_id = $1",
            ).bind(ws).execute(&mut *c).await?;
            sqlx::query_as(sql::IMPORT_RECOUNT_2)
                .bind(ws)
                .fetch_all(&mut *c)
                .await?
        }))
    }

    /// The first reference of an imported workspace that points nowhere inside it (a merge
    /// target, a parent comment, the comment a file or link hangs on, where a vote or comment
    /// moved from), named for the error; `None` when all hold.
    pub async fn import_dangling_reference(&mut self) -> StoreResult<Option<&'static str>> {
        let ws = self.ws;
        const CHECKS: &[(&str, &str)] = &[
            (
                "an idea's merged_into",
                "SELECT COUNT(*) FROM ideas x WHERE x.workspace_id = $1 AND x.merged_into IS NOT NULL \
              AND NOT EXISTS (SELECT 1 FROM ideas y WHERE y.workspace_id = $1 AND y.id = x.merged_into)",
            ),
            (
                "a comment's parent_id",
                "SELECT COUNT(*) FROM comments x WHERE x.workspace_id = $1 AND x.parent_id IS NOT NULL \
              AND NOT EXISTS (SELECT 1 FROM comments y WHERE y.workspace_id = $1 AND y.id = x.parent_id AND y.idea_id = x.idea_id)",
            ),
            (
                "an attachment's comment_id",
                "SELECT COUNT(*) FROM attachments x WHERE x.workspace_id = $1 AND x.comment_id IS NOT NULL \
              AND NOT EXISTS (SELECT 1 FROM comments y WHERE y.workspace_id = $1 AND y.id = x.comment_id AND y.idea_id = x.idea_id)",
            ),
            (
                "a link's comment_id",
                "SELECT COUNT(*) FROM links x WHERE x.workspace_id = $1 AND x.comment_id IS NOT NULL \
              AND NOT EXISTS (SELECT 1 FROM comments y WHERE y.workspace_id = $1 AND y.id = x.comment_id AND y.idea_id = x.idea_id)",
            ),
            (
                "a comment's moved_from",
                "SELECT COUNT(*) FROM comments x WHERE x.workspace_id = $1 AND x.moved_from IS NOT NULL \
              AND NOT EXISTS (SELECT 1 FROM ideas y WHERE y.workspace_id = $1 AND y.id = x.moved_from)",
            ),
            (
                "a vote's moved_from",
                "SELECT COUNT(*) FROM votes x WHERE x.workspace_id = $1 AND x.moved_from IS NOT NULL \
              AND NOT EXISTS (SELECT 1 FROM ideas y WHERE y.workspace_id = $1 AND y.id = x.moved_from)",
            ),
        ];
        for (what, sql) in CHECKS {
            let n: i64 = on_conn!(self.tx, |c| {
                sqlx::query_scalar(sqlx::AssertSqlSafe(*sql))
                    .bind(ws)
                    .fetch_one(c)
                    .await?
            });
            if n > 0 {
                return Ok(Some(what));
            }
        }
        Ok(None)
    }

    /// Stores an idea's hot score.
    pub async fn import_hot(&mut self, idea: Uuid, hot: f64) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::IMPORT_HOT)
                .bind(ws)
                .bind(idea)
                .bind(hot)
                .execute(c)
                .await?;
        });
        Ok(())
    }
}

impl Tx {
    /// Whether an account or former member with this id exists.
    pub async fn user_id_taken(&mut self, id: Uuid) -> StoreResult<bool> {
        let n: i64 = on_conn!(self, |c| {
            sqlx::query_scalar(sql::USER_ID_TAKEN)
                .bind(id)
                .fetch_one(c)
                .await?
        });
        Ok(n > 0)
    }
}

/// A web export job (LIF-01).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExportJobRow {
    pub id: Uuid,
    pub requested_by: Uuid,
    pub state: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    pub done: i64,
    pub total: i64,
    pub bytes: Option<i64>,
    pub error: Option<String>,
}

const EXPORT_JOB_COLUMNS: &str = "SELECT id, requested_by, state, created_at, finished_at, done, total, bytes, error FROM workspace_exports ";

impl WorkspaceRepo<'_> {
    /// Queues an export job.
    pub async fn insert_export_job(
        &mut self,
        id: Uuid,
        requested_by: Uuid,
        now: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::INSERT_EXPORT_JOB)
                .bind(ws)
                .bind(id)
                .bind(requested_by)
                .bind(now)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// The workspace's export jobs, newest first.
    pub async fn export_jobs(&mut self) -> StoreResult<Vec<ExportJobRow>> {
        let ws = self.ws;
        let sql = sqlx::AssertSqlSafe(format!(
            "{EXPORT_JOB_COLUMNS}WHERE workspace_id = $1 ORDER BY created_at DESC, id DESC"
        ));
        Ok(on_conn!(self.tx, |c| sqlx::query_as(sql)
            .bind(ws)
            .fetch_all(c)
            .await?))
    }

    /// One export job.
    pub async fn export_job(&mut self, id: Uuid) -> StoreResult<Option<ExportJobRow>> {
        let ws = self.ws;
        let sql = sqlx::AssertSqlSafe(format!(
            "{EXPORT_JOB_COLUMNS}WHERE workspace_id = $1 AND id = $2"
        ));
        Ok(on_conn!(self.tx, |c| sqlx::query_as(sql)
            .bind(ws)
            .bind(id)
            .fetch_optional(c)
            .await?))
    }

    /// Records a running job's progress and renews its lease.
    pub async fn export_job_progress(
        &mut self,
        id: Uuid,
        done: i64,
        total: i64,
        lease_until: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::EXPORT_JOB_PROGRESS)
                .bind(ws)
                .bind(id)
                .bind(done)
                .bind(total)
                .bind(lease_until)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Ends a job: `ready` with the archive's size, or `failed` with why. False when the job
    /// is gone (an erasure deleted it while it ran): its archive must not stay.
    pub async fn finish_export_job(
        &mut self,
        id: Uuid,
        bytes: Option<i64>,
        error: Option<&str>,
        now: i64,
    ) -> StoreResult<bool> {
        let ws = self.ws;
        let state = if error.is_some() { "failed" } else { "ready" };
        let n = on_conn!(self.tx, |c| {
            sqlx::query(
                "UPDATE workspace_exports SET state = $3, bytes = $4, error = $5, finished_at = $6, lease_until = NULL, done = total \
                 WHERE workspace_id = $1 AND id = $2",
            ).bind(ws).bind(id).bind(state).bind(bytes).bind(error).bind(now).execute(c).await?.rows_affected()
        });
        Ok(n == 1)
    }

    /// Deletes the export jobs created before `before` (every one for `None`); returns their
    /// ids, whose archives the caller removes.
    pub async fn delete_export_jobs(&mut self, before: Option<i64>) -> StoreResult<Vec<Uuid>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_scalar(
                "DELETE FROM workspace_exports WHERE workspace_id = $1 AND ($2 IS NULL OR created_at < $2) RETURNING id",
            ).bind(ws).bind(before).fetch_all(c).await?
        }))
    }
}

impl Tx {
    /// Claims the oldest export job that is pending, or running under a lease that ran out,
    /// until `lease_until`; returns its workspace and id.
    pub async fn claim_export_job(
        &mut self,
        now: i64,
        lease_until: i64,
    ) -> StoreResult<Option<(Uuid, Uuid)>> {
        Ok(match &mut self.handle {
            crate::Handle::Sqlite(h) => {
                sqlx::query_as(
                    "UPDATE workspace_exports SET state = 'running', lease_until = $2 \
                     WHERE (workspace_id, id) = (SELECT workspace_id, id FROM workspace_exports \
                       WHERE state = 'pending' OR (state = 'running' AND lease_until < $1) ORDER BY created_at LIMIT 1) \
                     RETURNING workspace_id, id",
                )
                .bind(now)
                .bind(lease_until)
                .fetch_optional(h.conn())
                .await?
            }
            crate::Handle::Postgres(h) => {
                sqlx::query_as(
                    "UPDATE workspace_exports SET state = 'running', lease_until = $2 \
                     WHERE (workspace_id, id) = (SELECT workspace_id, id FROM workspace_exports \
                       WHERE state = 'pending' OR (state = 'running' AND lease_until < $1) ORDER BY created_at LIMIT 1 \
                       FOR UPDATE SKIP LOCKED) \
                     RETURNING workspace_id, id",
                )
                .bind(now)
                .bind(lease_until)
                .fetch_optional(h.conn())
                .await?
            }
        })
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const EXPORT_HEADER: &str =
        "SELECT slug, name, created_at, erasure_mode FROM workspaces WHERE id = $1";
    pub(crate) const EXPORT_STAGES: &str =
        "SELECT id, name, position FROM stages WHERE workspace_id = $1 ORDER BY id";
    pub(crate) const EXPORT_CRITERIA: &str =
        "SELECT id, name, position FROM rating_criteria WHERE workspace_id = $1 ORDER BY id";
    pub(crate) const EXPORT_SPACES: &str = "SELECT id, name, description, private, created_by, created_at FROM spaces WHERE workspace_id = $1 ORDER BY id";
    pub(crate) const EXPORT_SPACE_MEMBERS: &str = "SELECT space_id, user_id FROM space_members WHERE workspace_id = $1 ORDER BY space_id, user_id";
    pub(crate) const EXPORT_DISCUSSION_CRITERIA: &str = "SELECT discussion_id, criterion_id FROM discussion_criteria WHERE workspace_id = $1 ORDER BY discussion_id, criterion_id";
    pub(crate) const EXPORT_MERGES: &str = "SELECT id, source_id, target_id, merged_by, merged_at, unmerged_by, unmerged_at FROM idea_merges WHERE workspace_id = $1 ORDER BY id";
    pub(crate) const EXPORT_INVITATIONS: &str = "SELECT id, email, role, invited_by, created_at, expires_at, accepted_at, accepted_by, revoked_at FROM invitations WHERE workspace_id = $1 ORDER BY id";
    pub(crate) const IMPORT_HEADER: &str =
        "UPDATE workspaces SET created_at = $2, erasure_mode = $3 WHERE id = $1";
    pub(crate) const IMPORT_CLEAR_STAGES: &str = "DELETE FROM stages WHERE workspace_id = $1";
    pub(crate) const IMPORT_MEMBER: &str =
        "INSERT INTO memberships (workspace_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)";
    pub(crate) const IMPORT_MEMBER_2: &str = "INSERT INTO notification_preferences (workspace_id, user_id, preference, updated_at) VALUES ($1, $2, $3, $4)";
    pub(crate) const IMPORT_SPACE: &str = "INSERT INTO spaces (workspace_id, id, name, description, private, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    pub(crate) const IMPORT_SPACE_MEMBER: &str =
        "INSERT INTO space_members (workspace_id, space_id, user_id) VALUES ($1, $2, $3)";
    pub(crate) const IMPORT_DISCUSSION_CRITERION: &str = "INSERT INTO discussion_criteria (workspace_id, discussion_id, criterion_id) VALUES ($1, $2, $3)";
    pub(crate) const IMPORT_IDEA: &str = "INSERT INTO idea_tags (workspace_id, idea_id, tag_index) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
    pub(crate) const IMPORT_VOTE: &str = "INSERT INTO votes (workspace_id, idea_id, user_id, value, moved_from, updated_at) VALUES ($1, $2, $3, $4, $5, $6)";
    pub(crate) const IMPORT_RATING: &str = "INSERT INTO ratings (workspace_id, idea_id, criterion_id, user_id, value, updated_at) VALUES ($1, $2, $3, $4, $5, $6)";
    pub(crate) const IMPORT_LINK: &str = "INSERT INTO links (workspace_id, id, idea_id, comment_id, url, title, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    pub(crate) const IMPORT_MERGE: &str = "INSERT INTO idea_merges (workspace_id, id, source_id, target_id, merged_by, merged_at, unmerged_by, unmerged_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    pub(crate) const IMPORT_RECOUNT: &str =
        "UPDATE ideas SET score = upvotes - downvotes WHERE workspace_id = $1";
    pub(crate) const IMPORT_RECOUNT_2: &str =
        "SELECT id, score, created_at FROM ideas WHERE workspace_id = $1 ORDER BY id";
    pub(crate) const IMPORT_HOT: &str =
        "UPDATE ideas SET hot = $3 WHERE workspace_id = $1 AND id = $2";
    pub(crate) const USER_ID_TAKEN: &str = "SELECT COUNT(*) FROM users WHERE id = $1";
    pub(crate) const INSERT_EXPORT_JOB: &str = "INSERT INTO workspace_exports (workspace_id, id, requested_by, state, created_at) VALUES ($1, $2, $3, 'pending', $4)";
    pub(crate) const EXPORT_JOB_PROGRESS: &str = "UPDATE workspace_exports SET done = $3, total = $4, lease_until = $5 WHERE workspace_id = $1 AND id = $2 AND state = 'running'";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("EXPORT_HEADER", EXPORT_HEADER),
        ("EXPORT_STAGES", EXPORT_STAGES),
        ("EXPORT_CRITERIA", EXPORT_CRITERIA),
        ("EXPORT_SPACES", EXPORT_SPACES),
        ("EXPORT_SPACE_MEMBERS", EXPORT_SPACE_MEMBERS),
        ("EXPORT_DISCUSSION_CRITERIA", EXPORT_DISCUSSION_CRITERIA),
        ("EXPORT_MERGES", EXPORT_MERGES),
        ("EXPORT_INVITATIONS", EXPORT_INVITATIONS),
        ("IMPORT_HEADER", IMPORT_HEADER),
        ("IMPORT_CLEAR_STAGES", IMPORT_CLEAR_STAGES),
        ("IMPORT_MEMBER", IMPORT_MEMBER),
        ("IMPORT_MEMBER_2", IMPORT_MEMBER_2),
        ("IMPORT_SPACE", IMPORT_SPACE),
        ("IMPORT_SPACE_MEMBER", IMPORT_SPACE_MEMBER),
        ("IMPORT_DISCUSSION_CRITERION", IMPORT_DISCUSSION_CRITERION),
        ("IMPORT_IDEA", IMPORT_IDEA),
        ("IMPORT_VOTE", IMPORT_VOTE),
        ("IMPORT_RATING", IMPORT_RATING),
        ("IMPORT_LINK", IMPORT_LINK),
        ("IMPORT_MERGE", IMPORT_MERGE),
        ("IMPORT_RECOUNT", IMPORT_RECOUNT),
        ("IMPORT_RECOUNT_2", IMPORT_RECOUNT_2),
        ("IMPORT_HOT", IMPORT_HOT),
        ("USER_ID_TAKEN", USER_ID_TAKEN),
        ("INSERT_EXPORT_JOB", INSERT_EXPORT_JOB),
        ("EXPORT_JOB_PROGRESS", EXPORT_JOB_PROGRESS),
    ];
}
