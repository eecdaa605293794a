//! Threaded comments on ideas.

use ideaweave_domain::paging::{decode_id_cursor, encode_id_cursor};
use ideaweave_domain::policy::Action;
use ideaweave_domain::*;
use ideaweave_store::records::{CommentRecord, IdeaScope};
use ideaweave_store::{CommentRevisionRow, Tx};

use crate::content::notifications::Happened;
use crate::platform::sealed::column;
use crate::platform::sealed::{NameMemo, at};
use crate::trust::audit::{AuditAction, Target};
use crate::*;
use crate::{App, AppError, AppResult, Member, space_view};
use serde_json::json;

/// Most comments returned in one page.
const MAX_COMMENT_PAGE: u32 = 500;

impl App {
    /// Opens a comment into what threads show. A deleted comment shows neither author nor text,
    /// so neither is opened.
    pub(crate) async fn comment_out(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        names: &mut NameMemo,
        c: CommentRecord,
    ) -> AppResult<CommentView> {
        let deleted = c.deleted_at.is_some();
        let (author, (body, body_html)) = if deleted {
            (None, (String::new(), String::new()))
        } else {
            let name = self
                .person_name(tx, names, c.author_id, &c.author_name)
                .await?;
            let body = self
                .open_text(tx, &at(ws, column::COMMENTS_BODY, c.id.0), &c.body)
                .await?;
            (
                Some(AuthorView {
                    id: c.author_id,
                    name,
                }),
                self.read_mentions(tx, ws, names, &body).await?,
            )
        };
        Ok(CommentView {
            id: c.id,
            idea_id: c.idea_id,
            parent_id: c.parent_id.map(CommentId),
            author,
            body_html,
            body,
            deleted,
            created_at: c.created_at,
            updated_at: c.updated_at,
        })
    }

    /// A comment and its idea's scope, checked visible to the caller.
    pub(crate) async fn visible_comment(
        &self,
        tx: &mut Tx,
        m: &Member,
        id: CommentId,
    ) -> AppResult<(CommentRecord, IdeaScope)> {
        let c = tx
            .workspace(m.workspace)
            .comment(id)
            .await?
            .ok_or(AppError::NotFound("comment"))?;
        let scope = self.visible_idea(tx, m, c.idea_id).await?;
        Ok((c, scope))
    }

    /// A page of an idea's comments in posting order; replies carry their parent's id.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn comments(
        &self,
        m: &Member,
        idea: IdeaId,
        q: PageQuery,
    ) -> AppResult<Page<CommentView>> {
        let limit = match q.limit {
            None => 100,
            Some(n) if (1..=MAX_COMMENT_PAGE).contains(&n) => n,
            Some(n) => {
                return Err(AppError::invalid(
                    "limit",
                    format!("must be from 1 to {MAX_COMMENT_PAGE} (got {n})"),
                ));
            }
        };
        let after = q.cursor.as_deref().map(decode_id_cursor).transpose()?;
        let mut tx = self.store.read().await?;
        self.visible_idea(&mut tx, m, idea).await?;
        let rows = tx
            .workspace(m.workspace)
            .comments(idea, after, limit + 1)
            .await?;
        let page = Page::from_rows_plus_one(rows, limit, |c| encode_id_cursor(c.id.0), Ok)?;
        let mut names = NameMemo::default();
        let mut items = Vec::with_capacity(page.items.len());
        for c in page.items {
            items.push(
                self.comment_out(&mut tx, m.workspace, &mut names, c)
                    .await?,
            );
        }
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }

    /// One comment, as its thread shows it.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn comment(&self, m: &Member, id: CommentId) -> AppResult<CommentView> {
        let mut tx = self.store.read().await?;
        let (c, _) = self.visible_comment(&mut tx, m, id).await?;
        self.comment_out(&mut tx, m.workspace, &mut NameMemo::default(), c)
            .await
    }

    /// Posts a comment, optionally as a reply to another comment on the same idea.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn create_comment(
        &self,
        m: &Member,
        idea: IdeaId,
        input: CommentInput,
    ) -> AppResult<CommentView> {
        let body = CommentBody::parse(&input.body)?;
        let mut tx = self.store.begin().await?;
        let scope = self.live_idea(&mut tx, m, idea).await?;
        m.allow(Action::Comment(space_view(
            scope.space_private,
            scope.space_listed,
        )))?;
        let mut repo = tx.workspace(m.workspace);
        if let Some(parent) = input.parent_id {
            match repo.comment(parent).await? {
                Some(p) if p.idea_id == idea => {}
                _ => {
                    return Err(AppError::invalid(
                        "parent_id",
                        "is not a comment on this idea",
                    ));
                }
            }
        }
        let id = CommentId::new();
        let now = self.now();
        repo.lock_idea(idea).await?;
        let key = self
            .keyring
            .data_key(&mut repo, Some(m.actor.user), now)
            .await?;
        let (stored, mentioned) = self.store_mentions(&mut tx, m, body.as_str()).await?;
        let mut repo = tx.workspace(m.workspace);
        let sealed = key.seal_text(m.workspace, column::COMMENTS_BODY, id.0, &stored)?;
        repo.insert_comment(id, idea, input.parent_id, m.actor.user, &sealed, now)
            .await?;
        repo.recount_idea(idea).await?;
        let c = repo
            .comment(id)
            .await?
            .ok_or(AppError::NotFound("comment"))?;
        let view = self
            .comment_out(&mut tx, m.workspace, &mut NameMemo::default(), c)
            .await?;
        self.notify(
            &mut tx,
            m,
            Happened::Comment {
                idea,
                id,
                parent: input.parent_id,
                body: body.as_str(),
                mentioned,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Edits a comment's text (its author only).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn update_comment(
        &self,
        m: &Member,
        id: CommentId,
        input: CommentPatch,
    ) -> AppResult<CommentView> {
        let body = CommentBody::parse(&input.body)?;
        let mut tx = self.store.begin().await?;
        let (c, scope) = self.visible_comment(&mut tx, m, id).await?;
        self.ensure_unrestricted(&mut tx, m, c.author_id).await?;
        let space = space_view(scope.space_private, scope.space_listed);
        m.allow(Action::EditComment {
            space,
            is_author: c.author_id == m.actor.user,
        })?;
        if c.deleted_at.is_some() {
            return Err(AppError::Conflict("this comment is deleted".into()));
        }
        // Every edit moves the stamp strictly forward, even within one millisecond (or under a
        // stopped test clock): the versions stay ordered and an edited comment is always marked.
        let now = self.now().max(c.updated_at + 1);
        let before = self
            .open_text(
                &mut tx,
                &at(m.workspace, column::COMMENTS_BODY, id.0),
                &c.body,
            )
            .await?;
        let (stored, mentioned) = self.store_mentions(&mut tx, m, body.as_str()).await?;
        // The edit form shows mentions by name: saving it unchanged keeps the comment as it is
        // (a mention of someone who has left reads "Former member" and matches nobody now).
        let (before_written, _) = self
            .read_mentions(&mut tx, m.workspace, &mut NameMemo::default(), &before)
            .await?;
        if before == stored || before_written == body.as_str() {
            // Nothing changed: no new version, and no "edited" mark for saving the same text.
            return self
                .comment_out(&mut tx, m.workspace, &mut NameMemo::default(), c)
                .await;
        }
        let newly = App::newly_mentioned(&before, mentioned);
        let mut repo = tx.workspace(m.workspace);
        let key = self
            .keyring
            .data_key(&mut repo, Some(c.author_id), now)
            .await?;
        // The text it replaces is kept for moderators, sealed with the same author's key.
        let version = uuid::Uuid::now_v7();
        repo.insert_comment_revision(&CommentRevisionRow {
            id: version,
            comment_id: id.0,
            body: key.seal_text(
                m.workspace,
                column::COMMENT_REVISIONS_BODY,
                version,
                &before,
            )?,
            written_at: c.updated_at,
            replaced_at: now,
        })
        .await?;
        let sealed = key.seal_text(m.workspace, column::COMMENTS_BODY, id.0, &stored)?;
        repo.update_comment(id, &sealed, now).await?;
        let c = repo
            .comment(id)
            .await?
            .ok_or(AppError::NotFound("comment"))?;
        let idea = c.idea_id;
        let view = self
            .comment_out(&mut tx, m.workspace, &mut NameMemo::default(), c)
            .await?;
        // Someone newly named is told; those named before were told when they were.
        self.notify(
            &mut tx,
            m,
            Happened::Mentioned {
                idea,
                comment: Some(id),
                body: Some(body.as_str()),
                mentioned: newly,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    /// A comment with its earlier texts, for moderators of its space (COL-03). A deleted
    /// comment shows nothing: its author or a moderator took it down, and its history goes with
    /// it when retention purges it.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn comment_history(
        &self,
        m: &Member,
        id: CommentId,
    ) -> AppResult<CommentHistoryView> {
        let mut tx = self.store.read().await?;
        let (c, scope) = self.visible_comment(&mut tx, m, id).await?;
        m.allow(Action::Moderate(space_view(
            scope.space_private,
            scope.space_listed,
        )))?;
        if c.deleted_at.is_some() {
            return Err(AppError::Conflict("this comment is deleted".into()));
        }
        let rows = tx.workspace(m.workspace).comment_revisions(id).await?;
        let mut names = NameMemo::default();
        let mut versions = Vec::with_capacity(rows.len());
        for r in rows {
            let body = self
                .open_text(
                    &mut tx,
                    &at(m.workspace, column::COMMENT_REVISIONS_BODY, r.id),
                    &r.body,
                )
                .await?;
            let (body, body_html) = self
                .read_mentions(&mut tx, m.workspace, &mut names, &body)
                .await?;
            versions.push(CommentVersionView {
                body_html,
                body,
                written_at: r.written_at,
                replaced_at: r.replaced_at,
            });
        }
        let comment = self
            .comment_out(&mut tx, m.workspace, &mut names, c)
            .await?;
        Ok(CommentHistoryView { comment, versions })
    }

    /// Soft-deletes a comment (author or moderator). Replies keep their place in the thread.
    /// Answers the idea it is on.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn delete_comment(&self, m: &Member, id: CommentId) -> AppResult<IdeaId> {
        let mut tx = self.store.begin().await?;
        let (c, scope) = self.visible_comment(&mut tx, m, id).await?;
        self.ensure_unrestricted(&mut tx, m, c.author_id).await?;
        let space = space_view(scope.space_private, scope.space_listed);
        m.allow(Action::DeleteComment {
            space,
            is_author: c.author_id == m.actor.user,
        })?;
        if c.deleted_at.is_some() {
            return Ok(c.idea_id);
        }
        let mut repo = tx.workspace(m.workspace);
        repo.lock_idea(c.idea_id).await?;
        repo.set_comment_deleted(id, Some(m.actor.user), self.now())
            .await?;
        // What told of it goes too: the notifications centre shows a comment's current text.
        repo.delete_inbox_items_of_comment(id).await?;
        repo.recount_idea(c.idea_id).await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::ContentDeleted,
            Target::Thing("comment", id.0),
            json!({"own": c.author_id == m.actor.user}),
        )
        .await?;
        tx.commit().await?;
        Ok(c.idea_id)
    }
}
