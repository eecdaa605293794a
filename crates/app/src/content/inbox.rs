//! The notifications centre and following (COL-04): what each member was told inside the
//! workspace, read and unread, and the ideas and discussions they follow.
//!
//! [`App::notify`] puts an item in the inbox of everyone it tells, whatever their email
//! preference and whether or not the instance sends mail. An item names the idea and says who
//! did what (sealed with the acting person's key); it shows only while its reader may still see
//! the idea. An item about a deleted idea is left out of the list and the count at once; one
//! about an idea in a space the reader was since unlisted from, or whose comment was deleted, is
//! left out of the list and deleted when the list meets it (until then the bell may count it).

use ideaweave_domain::notify::Reason;
use ideaweave_domain::paging::{decode_id_cursor, encode_id_cursor};
use ideaweave_domain::policy::Action;
use ideaweave_domain::*;
use ideaweave_store::{Followed, Tx};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::content::notifications::{Item, inbox_place};
use crate::platform::sealed::{NameMemo, at, column};
use crate::{App, AppError, AppResult, Member, Page};

/// Most notifications on one page.
const MAX_INBOX_PAGE: u32 = 100;

/// Which notifications to list.
#[derive(Debug, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// Only the unread ones.
    #[serde(default)]
    pub unread: bool,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 30).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// A notification, as its reader sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: uuid::Uuid,
    pub idea_id: IdeaId,
    /// The idea's title as it reads now.
    pub idea_title: String,
    /// Why the reader was told.
    pub reason: Reason,
    /// Who acted, by the name they had then.
    pub actor: String,
    /// The start of the comment, for a comment.
    pub excerpt: Option<String>,
    /// The new stage, for a stage change.
    pub stage: Option<String>,
    pub created_at: i64,
    pub read: bool,
}

/// Whether the caller follows an idea or a discussion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowState {
    pub following: bool,
}

/// What the inbox answers besides its items.
#[derive(Debug, Serialize, ToSchema)]
pub struct Inbox {
    #[serde(flatten)]
    pub page: Page<NotificationView>,
    /// Unread notifications, counted up to 100.
    pub unread: i64,
}

impl App {
    /// A page of the caller's notifications in this workspace, newest first.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn inbox(&self, m: &Member, q: InboxQuery) -> AppResult<Inbox> {
        m.allow(Action::ReadWorkspace)?;
        let limit = match q.limit {
            None => 30,
            Some(n) if (1..=MAX_INBOX_PAGE).contains(&n) => n,
            Some(n) => {
                return Err(AppError::invalid(
                    "limit",
                    format!("must be from 1 to {MAX_INBOX_PAGE} (got {n})"),
                ));
            }
        };
        let before = q.cursor.as_deref().map(decode_id_cursor).transpose()?;
        let mut tx = self.store.read().await?;
        let rows = tx
            .workspace(m.workspace)
            .inbox(m.actor.user, q.unread, before, limit + 1)
            .await?;
        let more = rows.len() > limit as usize;
        let mut items = Vec::with_capacity(rows.len().min(limit as usize));
        let mut stale = Vec::new();
        let mut stale_unread = 0;
        let mut last = None;
        for row in rows.into_iter().take(limit as usize) {
            last = Some(row.id);
            match self.shown(&mut tx, m, &row).await? {
                Some(view) => items.push(view),
                None => {
                    stale.push(row.id);
                    stale_unread += i64::from(row.read_at.is_none());
                }
            }
        }
        let unread = self.unread_count(&mut tx, m).await?;
        drop(tx);
        if !stale.is_empty() {
            self.forget(m, &stale).await?;
        }
        Ok(Inbox {
            page: Page {
                items,
                next_cursor: if more {
                    last.map(encode_id_cursor)
                } else {
                    None
                },
            },
            unread: (unread - stale_unread).max(0),
        })
    }

    /// The item as its reader sees it, or `None` when they may no longer see its idea or its
    /// actor was erased (the item no longer opens).
    async fn shown(
        &self,
        tx: &mut Tx,
        m: &Member,
        row: &ideaweave_store::InboxRow,
    ) -> AppResult<Option<NotificationView>> {
        let Some(idea) = tx
            .workspace(m.workspace)
            .notified_idea(row.idea_id, m.actor.user)
            .await?
        else {
            return Ok(None);
        };
        let space = crate::space_view(idea.space_private, idea.space_listed);
        if idea.deleted_at.is_some() || m.allow(Action::ReadContent(space)).is_err() {
            return Ok(None);
        }
        let Some(bytes) = self
            .keyring
            .open(tx, &inbox_place(m.workspace, row.id), &row.item)
            .await?
        else {
            return Ok(None);
        };
        let item: Item = serde_json::from_slice(&bytes)
            .map_err(|e| AppError::internal_from("notification item", e))?;
        // A comment is shown as it reads now; a deleted one takes its notification with it.
        let excerpt = match row.comment_id {
            None => item.excerpt,
            Some(c) => {
                let Some(c) = tx.workspace(m.workspace).comment(CommentId(c)).await? else {
                    return Ok(None);
                };
                if c.deleted_at.is_some() {
                    return Ok(None);
                }
                let body = self
                    .open_text(tx, &at(m.workspace, column::COMMENTS_BODY, c.id.0), &c.body)
                    .await?;
                Some(
                    self.excerpt_of(tx, m.workspace, &mut NameMemo::default(), &body)
                        .await?,
                )
            }
        };
        let title = self
            .open_summary(tx, m.workspace, row.idea_id.0, &idea.summary)
            .await?
            .title;
        Ok(Some(NotificationView {
            id: row.id,
            idea_id: row.idea_id,
            idea_title: title,
            reason: item.reason,
            actor: item.actor,
            excerpt,
            stage: item.stage,
            created_at: row.created_at,
            read: row.read_at.is_some(),
        }))
    }

    async fn unread_count(&self, tx: &mut Tx, m: &Member) -> AppResult<i64> {
        Ok(tx
            .workspace(m.workspace)
            .unread_inbox_count(m.actor.user)
            .await?)
    }

    /// Deletes items their reader may no longer see.
    async fn forget(&self, m: &Member, ids: &[uuid::Uuid]) -> AppResult<()> {
        let mut tx = self.store.begin().await?;
        for id in ids {
            tx.workspace(m.workspace)
                .delete_inbox_item(m.actor.user, *id)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks one of the caller's notifications read and answers the idea it is about, which
    /// the caller may see (opening a notification leads there).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn open_notification(&self, m: &Member, id: uuid::Uuid) -> AppResult<IdeaId> {
        m.allow(Action::ReadWorkspace)?;
        let mut tx = self.store.begin().await?;
        let row = tx
            .workspace(m.workspace)
            .inbox_item(m.actor.user, id)
            .await?
            .ok_or(AppError::NotFound("notification"))?;
        if self.shown(&mut tx, m, &row).await?.is_none() {
            tx.workspace(m.workspace)
                .delete_inbox_item(m.actor.user, id)
                .await?;
            tx.commit().await?;
            return Err(AppError::NotFound("notification"));
        }
        tx.workspace(m.workspace)
            .mark_inbox_item_read(m.actor.user, id, self.now())
            .await?;
        tx.commit().await?;
        Ok(row.idea_id)
    }

    /// Marks every notification of the caller in this workspace read; answers how many were
    /// unread.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn mark_all_notifications_read(&self, m: &Member) -> AppResult<u64> {
        m.allow(Action::ReadWorkspace)?;
        let mut tx = self.store.begin().await?;
        let n = tx
            .workspace(m.workspace)
            .mark_inbox_read(m.actor.user, self.now())
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Whether the caller follows the idea.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn idea_follow(&self, m: &Member, idea: IdeaId) -> AppResult<FollowState> {
        let mut tx = self.store.read().await?;
        self.visible_idea(&mut tx, m, idea).await?;
        Ok(FollowState {
            following: tx
                .workspace(m.workspace)
                .follows(Followed::Idea(idea), m.actor.user)
                .await?,
        })
    }

    /// Starts or stops following an idea: a follower is told of its comments and stage
    /// changes, in the inbox and by their email preference.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn set_idea_follow(
        &self,
        m: &Member,
        idea: IdeaId,
        to: FollowState,
    ) -> AppResult<FollowState> {
        m.allow(Action::ManageOwnNotifications)?;
        let mut tx = self.store.begin().await?;
        // Following is the follower's own act: someone who restricted processing does not
        // start or stop it; whose idea it is does not matter.
        self.ensure_unrestricted(&mut tx, m, m.actor.user).await?;
        let scope = self.visible_idea(&mut tx, m, idea).await?;
        if to.following && (scope.deleted_at.is_some() || scope.merged_into.is_some()) {
            return Err(AppError::Conflict(
                "a deleted or merged idea cannot be followed".into(),
            ));
        }
        tx.workspace(m.workspace)
            .set_follow(Followed::Idea(idea), m.actor.user, to.following, self.now())
            .await?;
        tx.commit().await?;
        Ok(to)
    }

    /// Whether the caller follows the discussion.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn discussion_follow(
        &self,
        m: &Member,
        discussion: DiscussionId,
    ) -> AppResult<FollowState> {
        let mut tx = self.store.read().await?;
        self.seen_discussion(&mut tx, m, discussion).await?;
        Ok(FollowState {
            following: tx
                .workspace(m.workspace)
                .follows(Followed::Discussion(discussion), m.actor.user)
                .await?,
        })
    }

    /// Starts or stops following a discussion: a follower is told of its new ideas.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn set_discussion_follow(
        &self,
        m: &Member,
        discussion: DiscussionId,
        to: FollowState,
    ) -> AppResult<FollowState> {
        m.allow(Action::ManageOwnNotifications)?;
        let mut tx = self.store.begin().await?;
        self.ensure_unrestricted(&mut tx, m, m.actor.user).await?;
        self.seen_discussion(&mut tx, m, discussion).await?;
        tx.workspace(m.workspace)
            .set_follow(
                Followed::Discussion(discussion),
                m.actor.user,
                to.following,
                self.now(),
            )
            .await?;
        tx.commit().await?;
        Ok(to)
    }

    /// The discussion, checked visible to the caller (its space's rule, as reading it).
    async fn seen_discussion(
        &self,
        tx: &mut Tx,
        m: &Member,
        discussion: DiscussionId,
    ) -> AppResult<()> {
        let d = self.load_discussion(tx, m, discussion).await?;
        m.allow(Action::ReadContent(crate::space_view(
            d.space_private,
            d.space_listed,
        )))
    }
}
