//! In-app notifications and following (COL-04): what each member is told inside the workspace,
//! and which ideas and discussions they follow.

use ideaweave_domain::*;
use sqlx::FromRow;
use uuid::Uuid;

use crate::StoreResult;
use crate::workspace::WorkspaceRepo;

/// A notification in a member's inbox.
#[derive(Debug, Clone, FromRow)]
pub struct InboxRow {
    pub id: Uuid,
    #[sqlx(try_from = "Uuid")]
    pub idea_id: IdeaId,
    /// The comment told of, for a comment.
    pub comment_id: Option<Uuid>,
    #[sqlx(try_from = "Uuid")]
    pub actor_id: UserId,
    /// Sealed with the acting person's data key.
    pub item: Vec<u8>,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

/// A new notification for one member.
pub struct NewInboxItem<'a> {
    pub id: Uuid,
    pub user: UserId,
    pub idea: IdeaId,
    pub comment: Option<CommentId>,
    pub actor: UserId,
    pub item: &'a [u8],
}

/// Something a member can follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Followed {
    /// An idea: its comments and stage changes.
    Idea(IdeaId),
    /// A discussion: its new ideas.
    Discussion(DiscussionId),
}

/// The statements of one kind of following.
struct FollowStatements {
    follows: &'static str,
    follow: &'static str,
    unfollow: &'static str,
    followers: &'static str,
}

impl Followed {
    fn id(self) -> Uuid {
        match self {
            Followed::Idea(i) => i.0,
            Followed::Discussion(d) => d.0,
        }
    }

    fn statements(self) -> FollowStatements {
        match self {
            Followed::Idea(_) => FollowStatements {
                follows: sql::FOLLOWS_IDEA,
                follow: sql::FOLLOW_IDEA,
                unfollow: sql::UNFOLLOW_IDEA,
                followers: sql::IDEA_FOLLOWERS,
            },
            Followed::Discussion(_) => FollowStatements {
                follows: sql::FOLLOWS_DISCUSSION,
                follow: sql::FOLLOW_DISCUSSION,
                unfollow: sql::UNFOLLOW_DISCUSSION,
                followers: sql::DISCUSSION_FOLLOWERS,
            },
        }
    }
}

impl WorkspaceRepo<'_> {
    /// Puts a notification in a member's inbox.
    pub async fn insert_inbox_item(&mut self, n: &NewInboxItem<'_>, now: i64) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::INSERT_INBOX_ITEM)
                .bind(ws)
                .bind(n.user.0)
                .bind(n.id)
                .bind(n.idea.0)
                .bind(n.comment.map(|c| c.0))
                .bind(n.actor.0)
                .bind(n.item)
                .bind(now)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// A page of a member's notifications, newest first, before `before` (an item id), only the
    /// unread ones if asked. Items about deleted ideas are left out.
    pub async fn inbox(
        &mut self,
        user: UserId,
        unread_only: bool,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<InboxRow>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::INBOX)
                .bind(ws)
                .bind(user.0)
                .bind(unread_only)
                // No cursor: before the greatest id there is.
                .bind(before.unwrap_or(Uuid::max()))
                .bind(i64::from(limit))
                .fetch_all(c)
                .await?
        }))
    }

    /// One of a member's notifications.
    pub async fn inbox_item(&mut self, user: UserId, id: Uuid) -> StoreResult<Option<InboxRow>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::INBOX_ITEM)
                .bind(ws)
                .bind(user.0)
                .bind(id)
                .fetch_optional(c)
                .await?
        }))
    }

    /// A member's unread notifications about ideas that are not deleted, counted up to
    /// [`crate::UNREAD_COUNTED`].
    pub async fn unread_inbox_count(&mut self, user: UserId) -> StoreResult<i64> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_scalar(sql::UNREAD_INBOX_COUNT)
                .bind(ws)
                .bind(user.0)
                .bind(crate::UNREAD_COUNTED)
                .fetch_one(c)
                .await?
        }))
    }

    /// Marks one of a member's notifications read; false when they have no such item.
    pub async fn mark_inbox_item_read(
        &mut self,
        user: UserId,
        id: Uuid,
        now: i64,
    ) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(sql::MARK_INBOX_ITEM_READ)
                .bind(ws)
                .bind(user.0)
                .bind(id)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Marks every unread notification of a member read; answers how many.
    pub async fn mark_inbox_read(&mut self, user: UserId, now: i64) -> StoreResult<u64> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query(sql::MARK_INBOX_READ)
                .bind(ws)
                .bind(user.0)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }

    /// Deletes one of a member's notifications (one they may no longer see).
    pub async fn delete_inbox_item(&mut self, user: UserId, id: Uuid) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::DELETE_INBOX_ITEM)
                .bind(ws)
                .bind(user.0)
                .bind(id)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Deletes every notification telling of a comment (it was deleted).
    pub async fn delete_inbox_items_of_comment(&mut self, comment: CommentId) -> StoreResult<u64> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query(sql::DELETE_INBOX_ITEMS_OF_COMMENT)
                .bind(ws)
                .bind(comment.0)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }

    /// Whether `user` follows `what`.
    pub async fn follows(&mut self, what: Followed, user: UserId) -> StoreResult<bool> {
        let ws = self.ws;
        let n: i64 = on_conn!(self.tx, |c| {
            sqlx::query_scalar(what.statements().follows)
                .bind(ws)
                .bind(what.id())
                .bind(user.0)
                .fetch_one(c)
                .await?
        });
        Ok(n > 0)
    }

    /// Starts (`true`) or stops following `what`; answers whether anything changed.
    pub async fn set_follow(
        &mut self,
        what: Followed,
        user: UserId,
        follow: bool,
        now: i64,
    ) -> StoreResult<bool> {
        let ws = self.ws;
        let sql = what.statements();
        let n = on_conn!(self.tx, |c| {
            if follow {
                sqlx::query(sql.follow)
                    .bind(ws)
                    .bind(what.id())
                    .bind(user.0)
                    .bind(now)
                    .execute(c)
                    .await?
                    .rows_affected()
            } else {
                sqlx::query(sql.unfollow)
                    .bind(ws)
                    .bind(what.id())
                    .bind(user.0)
                    .execute(c)
                    .await?
                    .rows_affected()
            }
        });
        Ok(n == 1)
    }

    /// Every notification of a member, oldest first (for their personal-data download).
    pub async fn inbox_of(&mut self, user: UserId) -> StoreResult<Vec<InboxRow>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::INBOX_OF)
                .bind(ws)
                .bind(user.0)
                .fetch_all(c)
                .await?
        }))
    }

    /// The ideas and the discussions a member follows.
    pub async fn follows_of(&mut self, user: UserId) -> StoreResult<(Vec<Uuid>, Vec<Uuid>)> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            let ideas: Vec<Uuid> = sqlx::query_scalar(sql::IDEAS_FOLLOWED)
                .bind(ws)
                .bind(user.0)
                .fetch_all(&mut *c)
                .await?;
            let discussions: Vec<Uuid> = sqlx::query_scalar(sql::DISCUSSIONS_FOLLOWED)
                .bind(ws)
                .bind(user.0)
                .fetch_all(&mut *c)
                .await?;
            (ideas, discussions)
        }))
    }

    /// Everyone following `what`.
    pub async fn followers(&mut self, what: Followed) -> StoreResult<Vec<UserId>> {
        let ws = self.ws;
        let ids: Vec<Uuid> = on_conn!(self.tx, |c| {
            sqlx::query_scalar(what.statements().followers)
                .bind(ws)
                .bind(what.id())
                .fetch_all(c)
                .await?
        });
        Ok(ids.into_iter().map(UserId).collect())
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const INSERT_INBOX_ITEM: &str = "INSERT INTO inbox_items (workspace_id, user_id, id, idea_id, comment_id, actor_id, item, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    pub(crate) const INBOX: &str = "SELECT n.id, n.idea_id, n.comment_id, n.actor_id, n.item, n.created_at, n.read_at FROM inbox_items n \
         JOIN ideas i ON i.workspace_id = n.workspace_id AND i.id = n.idea_id \
         WHERE n.workspace_id = $1 AND n.user_id = $2 AND i.deleted_at IS NULL \
         AND (NOT $3 OR n.read_at IS NULL) AND n.id < $4 ORDER BY n.id DESC LIMIT $5";
    pub(crate) const INBOX_ITEM: &str = "SELECT id, idea_id, comment_id, actor_id, item, created_at, read_at FROM inbox_items \
         WHERE workspace_id = $1 AND user_id = $2 AND id = $3";
    pub(crate) const UNREAD_INBOX_COUNT: &str = "SELECT COUNT(*) FROM (SELECT 1 FROM inbox_items n \
         JOIN ideas i ON i.workspace_id = n.workspace_id AND i.id = n.idea_id \
         WHERE n.workspace_id = $1 AND n.user_id = $2 AND n.read_at IS NULL AND i.deleted_at IS NULL LIMIT $3) u";
    pub(crate) const MARK_INBOX_ITEM_READ: &str = "UPDATE inbox_items SET read_at = $4 \
         WHERE workspace_id = $1 AND user_id = $2 AND id = $3 AND read_at IS NULL";
    pub(crate) const MARK_INBOX_READ: &str = "UPDATE inbox_items SET read_at = $3 \
         WHERE workspace_id = $1 AND user_id = $2 AND read_at IS NULL";
    pub(crate) const DELETE_INBOX_ITEM: &str =
        "DELETE FROM inbox_items WHERE workspace_id = $1 AND user_id = $2 AND id = $3";
    pub(crate) const DELETE_INBOX_ITEMS_OF_COMMENT: &str =
        "DELETE FROM inbox_items WHERE workspace_id = $1 AND comment_id = $2";
    pub(crate) const FOLLOWS_IDEA: &str = "SELECT COUNT(*) FROM idea_follows WHERE workspace_id = $1 AND idea_id = $2 AND user_id = $3";
    pub(crate) const FOLLOWS_DISCUSSION: &str = "SELECT COUNT(*) FROM discussion_follows WHERE workspace_id = $1 AND discussion_id = $2 AND user_id = $3";
    pub(crate) const FOLLOW_IDEA: &str = "INSERT INTO idea_follows (workspace_id, idea_id, user_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (workspace_id, idea_id, user_id) DO NOTHING";
    pub(crate) const UNFOLLOW_IDEA: &str =
        "DELETE FROM idea_follows WHERE workspace_id = $1 AND idea_id = $2 AND user_id = $3";
    pub(crate) const FOLLOW_DISCUSSION: &str = "INSERT INTO discussion_follows (workspace_id, discussion_id, user_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (workspace_id, discussion_id, user_id) DO NOTHING";
    pub(crate) const UNFOLLOW_DISCUSSION: &str = "DELETE FROM discussion_follows WHERE workspace_id = $1 AND discussion_id = $2 AND user_id = $3";
    pub(crate) const INBOX_OF: &str = "SELECT id, idea_id, comment_id, actor_id, item, created_at, read_at FROM inbox_items \
         WHERE workspace_id = $1 AND user_id = $2 ORDER BY id";
    pub(crate) const IDEAS_FOLLOWED: &str = "SELECT idea_id FROM idea_follows WHERE workspace_id = $1 AND user_id = $2 ORDER BY idea_id";
    pub(crate) const DISCUSSIONS_FOLLOWED: &str = "SELECT discussion_id FROM discussion_follows WHERE workspace_id = $1 AND user_id = $2 ORDER BY discussion_id";
    pub(crate) const IDEA_FOLLOWERS: &str = "SELECT user_id FROM idea_follows WHERE workspace_id = $1 AND idea_id = $2 ORDER BY user_id";
    pub(crate) const DISCUSSION_FOLLOWERS: &str = "SELECT user_id FROM discussion_follows WHERE workspace_id = $1 AND discussion_id = $2 ORDER BY user_id";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("INSERT_INBOX_ITEM", INSERT_INBOX_ITEM),
        ("INBOX", INBOX),
        ("INBOX_ITEM", INBOX_ITEM),
        ("UNREAD_INBOX_COUNT", UNREAD_INBOX_COUNT),
        ("MARK_INBOX_ITEM_READ", MARK_INBOX_ITEM_READ),
        ("MARK_INBOX_READ", MARK_INBOX_READ),
        ("DELETE_INBOX_ITEM", DELETE_INBOX_ITEM),
        (
            "DELETE_INBOX_ITEMS_OF_COMMENT",
            DELETE_INBOX_ITEMS_OF_COMMENT,
        ),
        ("FOLLOWS_IDEA", FOLLOWS_IDEA),
        ("FOLLOWS_DISCUSSION", FOLLOWS_DISCUSSION),
        ("FOLLOW_IDEA", FOLLOW_IDEA),
        ("UNFOLLOW_IDEA", UNFOLLOW_IDEA),
        ("FOLLOW_DISCUSSION", FOLLOW_DISCUSSION),
        ("UNFOLLOW_DISCUSSION", UNFOLLOW_DISCUSSION),
        ("INBOX_OF", INBOX_OF),
        ("IDEAS_FOLLOWED", IDEAS_FOLLOWED),
        ("DISCUSSIONS_FOLLOWED", DISCUSSIONS_FOLLOWED),
        ("IDEA_FOLLOWERS", IDEA_FOLLOWERS),
        ("DISCUSSION_FOLLOWERS", DISCUSSION_FOLLOWERS),
    ];
}
