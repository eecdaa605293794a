//! Ideas, their stages, merges, votes and ratings.

use ideaweave_domain::mention;
use ideaweave_domain::paging::{Cursor, IdeaSort, page_limit};
use ideaweave_domain::policy::Action;
use ideaweave_domain::*;
use ideaweave_store::records::{CommentRecord, IdeaRecord, IdeaScope};
use ideaweave_store::{IdeaQuery, NewIdea, Tx, WorkspaceRepo};

use crate::content::notifications::Happened;
use crate::platform::sealed::column;
use crate::platform::sealed::{IdeaSummaryText, NameMemo, at};
use crate::trust::audit::{AuditAction, Target};
use serde_json::json;

use crate::*;
use crate::{App, AppError, AppResult, Member, space_view};

/// Longest plain-text excerpt shown in idea lists.
pub(crate) const EXCERPT_CHARS: usize = 280;

/// Opens an idea record into what lists show.
pub(crate) async fn summary(
    app: &App,
    tx: &mut Tx,
    ws: WorkspaceId,
    names: &mut NameMemo,
    r: IdeaRecord,
) -> AppResult<IdeaSummary> {
    let text = app.open_summary(tx, ws, r.id.0, &r.summary).await?;
    Ok(IdeaSummary {
        id: r.id,
        discussion_id: r.discussion_id,
        author: AuthorView {
            id: r.author_id,
            name: app
                .person_name(tx, names, r.author_id, &r.author_name)
                .await?,
        },
        title: text.title,
        excerpt: text.excerpt,
        tags: text.tags,
        stage_id: r.stage_id,
        upvotes: r.upvotes,
        downvotes: r.downvotes,
        score: r.score,
        comment_count: r.comment_count,
        my_vote: r.my_vote.and_then(VoteDirection::from_value),
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

/// Blind indexes of tags, for the tag filter.
fn tag_indexes(key: &ideaweave_crypto::BlindIndexKey, tags: &[Tag]) -> Vec<Vec<u8>> {
    tags.iter()
        .map(|t| key.index(t.as_str()).to_vec())
        .collect()
}

/// The furthest a page-numbered idea list reaches (400 pages of 25).
const MAX_OFFSET: u32 = 10_000;

impl App {
    /// Seals an idea's summary and body with its author's key and computes its tag indexes.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn seal_idea(
        &self,
        repo: &mut WorkspaceRepo<'_>,
        author: UserId,
        id: IdeaId,
        title: &IdeaTitle,
        body: &str,
        excerpt: &str,
        tags: &[Tag],
        now: i64,
    ) -> AppResult<(Vec<u8>, Vec<u8>, Vec<Vec<u8>>)> {
        let ws = repo.id();
        let key = self.keyring.data_key(repo, Some(author), now).await?;
        let text = IdeaSummaryText {
            title: title.as_str().to_owned(),
            excerpt: excerpt.to_owned(),
            tags: tags.iter().map(|t| t.as_str().to_owned()).collect(),
        };
        let summary = App::seal_summary(&key, ws, id.0, &text)?;
        let body = key.seal_text(ws, column::IDEAS_BODY, id.0, body)?;
        let tag_key = self.keyring.tag_index_key(repo, now).await?;
        Ok((summary, body, tag_indexes(&tag_key, tags)))
    }

    /// Loads an idea's scope and checks the caller may see it. Deleted ideas exist only for
    /// moderators; for everyone else they are not found.
    pub(crate) async fn visible_idea(
        &self,
        tx: &mut Tx,
        m: &Member,
        id: IdeaId,
    ) -> AppResult<IdeaScope> {
        let scope = tx
            .workspace(m.workspace)
            .idea_scope(id, m.actor.user)
            .await?
            .ok_or(AppError::NotFound("idea"))?;
        let space = space_view(scope.space_private, scope.space_listed);
        m.allow(Action::ReadContent(space))?;
        if scope.deleted_at.is_some() && m.allow(Action::Moderate(space)).is_err() {
            return Err(AppError::NotFound("idea"));
        }
        Ok(scope)
    }

    /// Like [`Self::visible_idea`], for actions that change the idea or what hangs off it:
    /// deleted and merged ideas refuse them.
    pub(crate) async fn live_idea(
        &self,
        tx: &mut Tx,
        m: &Member,
        id: IdeaId,
    ) -> AppResult<IdeaScope> {
        let scope = self.visible_idea(tx, m, id).await?;
        if scope.deleted_at.is_some() {
            return Err(AppError::Conflict(
                "this idea is deleted; restore it first".into(),
            ));
        }
        self.ensure_unrestricted(tx, m, scope.author_id).await?;
        if let Some(target) = scope.merged_into {
            return Err(AppError::Conflict(format!(
                "this idea was merged into idea {target}; act on that one instead"
            )));
        }
        Ok(scope)
    }

    /// A page of a discussion's ideas.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn ideas(
        &self,
        m: &Member,
        discussion: DiscussionId,
        q: IdeaListQuery,
    ) -> AppResult<IdeaPage> {
        let sort = q.sort.unwrap_or_default();
        let limit = page_limit(q.limit)?;
        let offset = match q.offset {
            None => 0,
            Some(_) if q.cursor.is_some() => {
                return Err(AppError::invalid(
                    "offset",
                    "give either offset or cursor, not both",
                ));
            }
            Some(n) if n <= MAX_OFFSET => n,
            Some(n) => {
                return Err(AppError::invalid(
                    "offset",
                    format!("must be at most {MAX_OFFSET} (got {n})"),
                ));
            }
        };
        if let (Some(a), Some(b)) = (q.since, q.until)
            && a > b
        {
            return Err(AppError::invalid("until", "must not be before since"));
        }
        let after = q
            .cursor
            .as_deref()
            .map(|c| Cursor::decode(c, sort))
            .transpose()?;
        let tag = q.tag.as_deref().map(Tag::parse).transpose()?;
        let mut tx = self.store.read().await?;
        let tag_index = match &tag {
            Some(t) => {
                let key = self
                    .keyring
                    .tag_index_key(&mut tx.workspace(m.workspace), self.now())
                    .await?;
                Some(key.index(t.as_str()).to_vec())
            }
            None => None,
        };
        let d = self.load_discussion(&mut tx, m, discussion).await?;
        m.allow(Action::ReadContent(space_view(
            d.space_private,
            d.space_listed,
        )))?;
        let query = IdeaQuery {
            discussion,
            viewer: m.actor.user,
            sort,
            stage: q.stage,
            tag_index,
            author: q.mine.unwrap_or(false).then_some(m.actor.user),
            since: q.since,
            until: q.until,
            after,
            offset,
            limit: limit + 1,
        };
        let rows = tx.workspace(m.workspace).ideas(&query).await?;
        // The discussion counts its live ideas already; only a filtered list is counted.
        let total = if query.is_filtered() {
            tx.workspace(m.workspace).count_ideas(&query).await?
        } else {
            d.idea_count
        };
        let cursor = |last: &IdeaRecord| {
            let key = match sort {
                IdeaSort::Top => last.score as f64,
                IdeaSort::Trending => last.hot,
                IdeaSort::Newest => 0.0,
            };
            Cursor {
                sort,
                key,
                id: last.id.0,
            }
            .encode()
        };
        let page = Page::from_rows_plus_one(rows, limit, cursor, Ok)?;
        let mut names = NameMemo::default();
        let mut items = Vec::with_capacity(page.items.len());
        for r in page.items {
            items.push(summary(self, &mut tx, m.workspace, &mut names, r).await?);
        }
        Ok(IdeaPage {
            items,
            next_cursor: page.next_cursor,
            total,
        })
    }

    /// Posts an idea in a discussion that accepts ideas. It starts in the first stage.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn create_idea(
        &self,
        m: &Member,
        discussion: DiscussionId,
        input: IdeaInput,
    ) -> AppResult<IdeaView> {
        let title = IdeaTitle::parse(&input.title)?;
        let body = IdeaBody::parse(&input.body)?;
        let tags = Tag::parse_list(&input.tags)?;
        let now = self.now();
        let id = IdeaId::new();
        let mut tx = self.store.begin().await?;
        let d = self.load_discussion(&mut tx, m, discussion).await?;
        m.allow(Action::CreateIdea(space_view(
            d.space_private,
            d.space_listed,
        )))?;
        self.ensure_unrestricted(&mut tx, m, m.actor.user).await?;
        if !d.open {
            return Err(AppError::Conflict(
                "this discussion is closed to new ideas".into(),
            ));
        }
        if d.deadline.is_some_and(|t| t <= now) {
            return Err(AppError::Conflict(
                "the deadline of this discussion has passed".into(),
            ));
        }
        let (body, mentioned) = self.store_mentions(&mut tx, m, body.as_str()).await?;
        let excerpt = mentions_excerpt(&body);
        let mut repo = tx.workspace(m.workspace);
        let stage = repo
            .stages()
            .await?
            .first()
            .map(|s| s.id)
            .ok_or_else(|| AppError::internal("workspace has no stages"))?;
        let (summary, body, tag_index) = self
            .seal_idea(
                &mut repo,
                m.actor.user,
                id,
                &title,
                &body,
                &excerpt,
                &tags,
                now,
            )
            .await?;
        repo.insert_idea(
            NewIdea {
                id,
                discussion,
                author: m.actor.user,
                summary: &summary,
                body: &body,
                tag_index: &tag_index,
                stage,
                hot: ranking::hot_score(0, now),
            },
            now,
        )
        .await?;
        self.notify(
            &mut tx,
            m,
            Happened::Idea {
                idea: id,
                discussion,
                mentioned,
            },
        )
        .await?;
        tx.commit().await?;
        self.idea(m, id).await
    }

    /// One idea with everything on its page.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn idea(&self, m: &Member, id: IdeaId) -> AppResult<IdeaView> {
        let mut tx = self.store.read().await?;
        Ok(self.idea_in(&mut tx, m, id, 0).await?.0)
    }

    /// The idea page in one connection checkout: the idea and up to `comments` of its
    /// comments in posting order. A page's cost is its round trips to the database (see
    /// BENCHMARKS.md), so the idea, its ratings and its comments come in one statement and
    /// visibility is checked once.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn idea_page(
        &self,
        m: &Member,
        id: IdeaId,
        comments: u32,
    ) -> AppResult<(IdeaView, Vec<CommentView>)> {
        let mut tx = self.store.read().await?;
        let (idea, rows) = self
            .idea_in(&mut tx, m, id, comments.clamp(1, 1000))
            .await?;
        let mut names = NameMemo::default();
        let mut out = Vec::with_capacity(rows.len());
        for c in rows {
            out.push(
                self.comment_out(&mut tx, m.workspace, &mut names, c)
                    .await?,
            );
        }
        Ok((idea, out))
    }

    /// The idea as `m` may see it, and its first `comments` comments (still sealed).
    async fn idea_in(
        &self,
        tx: &mut Tx,
        m: &Member,
        id: IdeaId,
        comments: u32,
    ) -> AppResult<(IdeaView, Vec<CommentRecord>)> {
        let ws = m.workspace;
        let found = tx
            .workspace(ws)
            .idea_with_scope(id, m.actor.user, comments)
            .await?
            .ok_or(AppError::NotFound("idea"))?;
        let scope = found.scope;
        // The same checks as `visible_idea`, on the scope read with the idea.
        let space = space_view(scope.space_private, scope.space_listed);
        m.allow(Action::ReadContent(space))?;
        if scope.deleted_at.is_some() && m.allow(Action::Moderate(space)).is_err() {
            return Err(AppError::NotFound("idea"));
        }
        let (rec, body) = (found.idea, found.body);
        let mut ratings = Vec::with_capacity(found.ratings.len());
        for r in found.ratings {
            ratings.push(RatingView {
                criterion: self
                    .open_text(tx, &at(ws, column::RATING_CRITERIA_NAME, r.id.0), &r.name)
                    .await?,
                criterion_id: r.id,
                count: r.count,
                average: r.average.map(|a| (a * 100.0).round() / 100.0),
                mine: r.mine.map(|v| v as u8),
            });
        }
        let discussion_title = self
            .open_text(
                tx,
                &at(ws, column::DISCUSSIONS_TITLE, scope.discussion_id.0),
                &scope.discussion_title,
            )
            .await?;
        // Files and links of a deleted comment are hidden with it, except from moderators.
        let moderator = m
            .allow(Action::Moderate(space_view(
                scope.space_private,
                scope.space_listed,
            )))
            .is_ok();
        // Files, links and merges are read only when the idea's row says there are some.
        let mut attachments = Vec::new();
        let rows = if found.has_attachments {
            tx.workspace(ws).attachments(id).await?
        } else {
            Vec::new()
        };
        for a in rows {
            if moderator || !a.comment_deleted {
                attachments.push(self.attachment_out(tx, ws, a).await?);
            }
        }
        let mut links = Vec::new();
        let rows = if found.has_links {
            tx.workspace(ws).links(id).await?
        } else {
            Vec::new()
        };
        for l in rows {
            if moderator || !l.comment_deleted {
                links.push(self.link_out(tx, ws, l).await?);
            }
        }
        let mut merges = Vec::new();
        let rows = if found.has_merges {
            tx.workspace(ws).merges_of(id).await?
        } else {
            Vec::new()
        };
        for r in rows {
            if moderator || !r.source_deleted {
                let source = self
                    .open_summary(tx, ws, r.source_id.0, &r.source_summary)
                    .await?;
                merges.push(MergeView {
                    id: r.id,
                    source_id: r.source_id,
                    source_title: source.title,
                    target_id: r.target_id,
                    merged_by: r.merged_by,
                    merged_at: r.merged_at,
                    unmerged_at: r.unmerged_at,
                });
            }
        }
        let merged_into = rec.merged_into.map(IdeaId);
        let deleted_at = rec.deleted_at;
        let body = self
            .open_text(tx, &at(ws, column::IDEAS_BODY, id.0), &body)
            .await?;
        let mut names = NameMemo::default();
        let (body, body_html) = self.read_mentions(tx, ws, &mut names, &body).await?;
        let view = IdeaView {
            summary: summary(self, tx, ws, &mut names, rec).await?,
            body_html,
            body,
            merged_into,
            deleted_at,
            discussion_title,
            ratings,
            attachments,
            links,
            merges,
            following: found.following,
        };
        Ok((view, found.comments))
    }

    /// Edits an idea's title, body or tags (author or moderator).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn update_idea(&self, m: &Member, id: IdeaId, p: IdeaPatch) -> AppResult<IdeaView> {
        let mut tx = self.store.begin().await?;
        let scope = self.live_idea(&mut tx, m, id).await?;
        let space = space_view(scope.space_private, scope.space_listed);
        m.allow(Action::EditIdea {
            space,
            is_author: scope.author_id == m.actor.user,
        })?;
        let ws = m.workspace;
        let (rec, old_body) = tx
            .workspace(ws)
            .idea(id, m.actor.user)
            .await?
            .ok_or(AppError::NotFound("idea"))?;
        let old = self.open_summary(&mut tx, ws, id.0, &rec.summary).await?;
        let old_body = self
            .open_text(&mut tx, &at(ws, column::IDEAS_BODY, id.0), &old_body)
            .await?;
        let title = IdeaTitle::parse(p.title.as_deref().unwrap_or(&old.title))?;
        let body = IdeaBody::parse(p.body.as_deref().unwrap_or(&old_body))?;
        let tags = match &p.tags {
            Some(t) => Tag::parse_list(t)?,
            None => old.tags.into_iter().map(Tag::from_trusted).collect(),
        };
        let (body, mentioned) = self.store_mentions(&mut tx, m, body.as_str()).await?;
        let excerpt = mentions_excerpt(&body);
        let newly = App::newly_mentioned(&old_body, mentioned);
        let now = self.now();
        let mut repo = tx.workspace(ws);
        // The idea stays its author's, whoever edits it: it is sealed with the author's key,
        // so erasing the author erases it.
        let (summary, body, tag_index) = self
            .seal_idea(
                &mut repo,
                scope.author_id,
                id,
                &title,
                &body,
                &excerpt,
                &tags,
                now,
            )
            .await?;
        repo.update_idea(id, &summary, &body, &tag_index, now)
            .await?;
        self.notify(
            &mut tx,
            m,
            Happened::Mentioned {
                idea: id,
                comment: None,
                body: None,
                mentioned: newly,
            },
        )
        .await?;
        tx.commit().await?;
        self.idea(m, id).await
    }

    /// Soft-deletes an idea (author or moderator). Moderators can restore it.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn delete_idea(&self, m: &Member, id: IdeaId) -> AppResult<()> {
        let mut tx = self.store.begin().await?;
        let scope = self.visible_idea(&mut tx, m, id).await?;
        self.ensure_unrestricted(&mut tx, m, scope.author_id)
            .await?;
        let space = space_view(scope.space_private, scope.space_listed);
        m.allow(Action::DeleteIdea {
            space,
            is_author: scope.author_id == m.actor.user,
        })?;
        if scope.deleted_at.is_some() {
            return Ok(());
        }
        tx.workspace(m.workspace)
            .set_idea_deleted(id, Some(m.actor.user), self.now())
            .await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::ContentDeleted,
            Target::Thing("idea", id.0),
            json!({"own": scope.author_id == m.actor.user}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Restores a soft-deleted idea (moderator).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn restore_idea(&self, m: &Member, id: IdeaId) -> AppResult<IdeaView> {
        let mut tx = self.store.begin().await?;
        let scope = self.visible_idea(&mut tx, m, id).await?;
        self.ensure_unrestricted(&mut tx, m, scope.author_id)
            .await?;
        m.allow(Action::Moderate(space_view(
            scope.space_private,
            scope.space_listed,
        )))?;
        if scope.deleted_at.is_none() {
            return self.idea(m, id).await;
        }
        tx.workspace(m.workspace)
            .set_idea_deleted(id, None, self.now())
            .await?;
        tx.commit().await?;
        self.idea(m, id).await
    }

    /// Moves an idea to another stage (moderator).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn set_stage(
        &self,
        m: &Member,
        id: IdeaId,
        input: StageInput,
    ) -> AppResult<IdeaView> {
        let mut tx = self.store.begin().await?;
        let scope = self.live_idea(&mut tx, m, id).await?;
        m.allow(Action::SetStage(space_view(
            scope.space_private,
            scope.space_listed,
        )))?;
        let mut repo = tx.workspace(m.workspace);
        if !repo.stages().await?.iter().any(|s| s.id == input.stage_id) {
            return Err(AppError::invalid(
                "stage_id",
                "is not a stage of this workspace",
            ));
        }
        self.notify(
            &mut tx,
            m,
            Happened::Stage {
                idea: id,
                to: input.stage_id,
            },
        )
        .await?;
        tx.workspace(m.workspace)
            .set_idea_stage(id, input.stage_id, self.now())
            .await?;
        tx.commit().await?;
        self.idea(m, id).await
    }

    /// Merges the duplicate `source` into `input.into` (moderator). Votes and comments move; the
    /// merge can be undone with [`Self::unmerge`].
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn merge(
        &self,
        m: &Member,
        source: IdeaId,
        input: MergeInput,
    ) -> AppResult<IdeaView> {
        let target = input.into;
        if source == target {
            return Err(AppError::invalid(
                "into",
                "an idea cannot be merged into itself",
            ));
        }
        let mut tx = self.store.begin().await?;
        let s = self.live_idea(&mut tx, m, source).await?;
        m.allow(Action::Merge(space_view(s.space_private, s.space_listed)))?;
        let t = self.live_idea(&mut tx, m, target).await?;
        m.allow(Action::Merge(space_view(t.space_private, t.space_listed)))?;
        if s.discussion_id != t.discussion_id {
            // Votes, comments and the merge history move with a merge; across discussions they
            // could carry a private space's content into an open one.
            return Err(AppError::invalid(
                "into",
                "duplicates can only be merged into an idea of the same discussion",
            ));
        }
        let mut repo = tx.workspace(m.workspace);
        // Both ideas are locked in id order (no deadlock between opposite merges), and what the
        // merge depends on is checked again under the locks.
        let (first, second) = if source < target {
            (source, target)
        } else {
            (target, source)
        };
        repo.lock_idea(first).await?;
        repo.lock_idea(second).await?;
        if !repo.idea_is_live(target).await? {
            return Err(AppError::Conflict(
                "the idea to merge into was deleted or merged meanwhile".into(),
            ));
        }
        if repo.merged_into_count(source).await? > 0 {
            return Err(AppError::Conflict(
                "other ideas are merged into this one; merge them into the target directly or unmerge them first".into(),
            ));
        }
        if !repo
            .merge(MergeId::new(), source, target, m.actor.user, self.now())
            .await?
        {
            return Err(AppError::Conflict(
                "this idea was deleted or merged meanwhile".into(),
            ));
        }
        repo.recount_idea(source).await?;
        repo.recount_idea(target).await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::IdeaMerged,
            Target::Thing("idea", source.0),
            json!({"into": target.0}),
        )
        .await?;
        tx.commit().await?;
        self.idea(m, target).await
    }

    /// Undoes the merge of `source` (moderator): its votes and comments return.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn unmerge(&self, m: &Member, source: IdeaId) -> AppResult<IdeaView> {
        let mut tx = self.store.begin().await?;
        let s = self.visible_idea(&mut tx, m, source).await?;
        self.ensure_unrestricted(&mut tx, m, s.author_id).await?;
        m.allow(Action::Merge(space_view(s.space_private, s.space_listed)))?;
        let target = IdeaId(
            s.merged_into
                .ok_or_else(|| AppError::Conflict("this idea is not merged".into()))?,
        );
        let mut repo = tx.workspace(m.workspace);
        let (first, second) = if source < target {
            (source, target)
        } else {
            (target, source)
        };
        repo.lock_idea(first).await?;
        repo.lock_idea(second).await?;
        if !repo
            .unmerge(source, target, m.actor.user, self.now())
            .await?
        {
            return Err(AppError::Conflict(
                "this idea was unmerged meanwhile".into(),
            ));
        }
        repo.recount_idea(source).await?;
        repo.recount_idea(target).await?;
        tx.commit().await?;
        self.idea(m, source).await
    }

    // ---- votes and ratings -----------------------------------------------------------------

    async fn tally(&self, m: &Member, id: IdeaId) -> AppResult<VoteTally> {
        let mut tx = self.store.read().await?;
        let (r, _) = tx
            .workspace(m.workspace)
            .idea(id, m.actor.user)
            .await?
            .ok_or(AppError::NotFound("idea"))?;
        Ok(VoteTally {
            upvotes: r.upvotes,
            downvotes: r.downvotes,
            score: r.score,
            my_vote: r.my_vote.and_then(VoteDirection::from_value),
        })
    }

    /// Votes on an idea, or changes the caller's vote. One vote per member per idea.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn vote(&self, m: &Member, id: IdeaId, input: VoteInput) -> AppResult<VoteTally> {
        let mut tx = self.store.begin().await?;
        let scope = self.live_idea(&mut tx, m, id).await?;
        m.allow(Action::Vote(space_view(
            scope.space_private,
            scope.space_listed,
        )))?;
        let mut repo = tx.workspace(m.workspace);
        repo.lock_idea(id).await?;
        repo.upsert_vote(id, m.actor.user, input.direction.value(), self.now())
            .await?;
        repo.recount_idea(id).await?;
        tx.commit().await?;
        self.tally(m, id).await
    }

    /// Withdraws the caller's vote.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn unvote(&self, m: &Member, id: IdeaId) -> AppResult<VoteTally> {
        let mut tx = self.store.begin().await?;
        let scope = self.live_idea(&mut tx, m, id).await?;
        m.allow(Action::Vote(space_view(
            scope.space_private,
            scope.space_listed,
        )))?;
        let mut repo = tx.workspace(m.workspace);
        repo.lock_idea(id).await?;
        repo.delete_vote(id, m.actor.user).await?;
        repo.recount_idea(id).await?;
        tx.commit().await?;
        self.tally(m, id).await
    }

    async fn rating_target(
        &self,
        tx: &mut Tx,
        m: &Member,
        id: IdeaId,
        criterion: CriterionId,
    ) -> AppResult<()> {
        let scope = self.live_idea(tx, m, id).await?;
        m.allow(Action::Rate(space_view(
            scope.space_private,
            scope.space_listed,
        )))?;
        let criteria = tx
            .workspace(m.workspace)
            .discussion_criteria(scope.discussion_id)
            .await?;
        if !criteria.iter().any(|c| c.id == criterion) {
            return Err(AppError::NotFound(
                "rating criterion of this idea's discussion",
            ));
        }
        Ok(())
    }

    /// Rates an idea 1 to 5 on one of its discussion's criteria.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn rate(
        &self,
        m: &Member,
        id: IdeaId,
        criterion: CriterionId,
        input: RatingInput,
    ) -> AppResult<IdeaView> {
        let value = RatingValue::new(input.value)?;
        let mut tx = self.store.begin().await?;
        self.rating_target(&mut tx, m, id, criterion).await?;
        tx.workspace(m.workspace)
            .upsert_rating(id, criterion, m.actor.user, value, self.now())
            .await?;
        tx.commit().await?;
        self.idea(m, id).await
    }

    /// Withdraws the caller's rating on a criterion.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn unrate(
        &self,
        m: &Member,
        id: IdeaId,
        criterion: CriterionId,
    ) -> AppResult<IdeaView> {
        let mut tx = self.store.begin().await?;
        self.rating_target(&mut tx, m, id, criterion).await?;
        tx.workspace(m.workspace)
            .delete_rating(id, criterion, m.actor.user)
            .await?;
        tx.commit().await?;
        self.idea(m, id).await
    }
}

/// An idea's excerpt from its stored body: a mention reads `@…`, so that the excerpt, kept
/// sealed with the idea, never holds a name (the mentioned person may be erased later).
pub(crate) fn mentions_excerpt(stored: &str) -> String {
    markdown::excerpt(&mention::display(stored, |_| "…".to_owned()), EXCERPT_CHARS)
}
