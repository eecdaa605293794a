//! Ideas, their stages, merges, votes and ratings.

use ideaweave_domain::paging::{Cursor, IdeaSort, page_limit};
use ideaweave_domain::policy::Action;
use ideaweave_domain::*;
use ideaweave_store::records::{IdeaRecord, IdeaScope};
use ideaweave_store::{IdeaQuery, NewIdea, Tx};

use crate::views::*;
use crate::{App, AppError, AppResult, Member, space_view};

/// Longest plain-text excerpt shown in idea lists.
const EXCERPT_CHARS: usize = 280;

pub(crate) fn summary(r: IdeaRecord) -> IdeaSummary {
    let tags: Vec<String> = serde_json::from_str(&r.tags).unwrap_or_default();
    IdeaSummary {
        id: r.id,
        discussion_id: r.discussion_id,
        author: AuthorView {
            id: r.author_id,
            name: r.author_name,
        },
        title: r.title,
        excerpt: r.excerpt,
        tags,
        stage_id: r.stage_id,
        upvotes: r.upvotes,
        downvotes: r.downvotes,
        score: r.score,
        comment_count: r.comment_count,
        my_vote: r.my_vote.and_then(VoteDirection::from_value),
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

impl App {
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
        if let Some(target) = scope.merged_into {
            return Err(AppError::Conflict(format!(
                "this idea was merged into idea {target}; act on that one instead"
            )));
        }
        Ok(scope)
    }

    /// A page of a discussion's ideas.
    pub async fn ideas(
        &self,
        m: &Member,
        discussion: DiscussionId,
        q: IdeaListQuery,
    ) -> AppResult<Page<IdeaSummary>> {
        let sort = q.sort.unwrap_or_default();
        let limit = page_limit(q.limit)?;
        let after = q
            .cursor
            .as_deref()
            .map(|c| Cursor::decode(c, sort))
            .transpose()?;
        let tag = q.tag.as_deref().map(Tag::parse).transpose()?;
        let mut tx = self.store.read().await?;
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
            tag,
            after,
            limit: limit + 1,
        };
        let rows = tx.workspace(m.workspace).ideas(&query).await?;
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
        Page::from_rows_plus_one(rows, limit, cursor, |r| Ok(summary(r)))
    }

    /// Posts an idea in a discussion that accepts ideas. It starts in the first stage.
    pub async fn create_idea(
        &self,
        m: &Member,
        discussion: DiscussionId,
        input: IdeaInput,
    ) -> AppResult<IdeaView> {
        let title = IdeaTitle::parse(&input.title)?;
        let body = IdeaBody::parse(&input.body)?;
        let tags = Tag::parse_list(&input.tags)?;
        let excerpt = markdown::excerpt(body.as_str(), EXCERPT_CHARS);
        let now = self.now();
        let id = IdeaId::new();
        let mut tx = self.store.begin().await?;
        let d = self.load_discussion(&mut tx, m, discussion).await?;
        m.allow(Action::CreateIdea(space_view(
            d.space_private,
            d.space_listed,
        )))?;
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
        let mut repo = tx.workspace(m.workspace);
        let stage = repo
            .stages()
            .await?
            .first()
            .map(|s| s.id)
            .ok_or_else(|| AppError::internal("workspace has no stages"))?;
        repo.insert_idea(
            NewIdea {
                id,
                discussion,
                author: m.actor.user,
                title: &title,
                body: &body,
                excerpt: &excerpt,
                tags: &tags,
                stage,
                hot: ranking::hot_score(0, now),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.idea(m, id).await
    }

    /// One idea with everything on its page.
    pub async fn idea(&self, m: &Member, id: IdeaId) -> AppResult<IdeaView> {
        let mut tx = self.store.read().await?;
        let scope = self.visible_idea(&mut tx, m, id).await?;
        let mut repo = tx.workspace(m.workspace);
        let (rec, body) = repo
            .idea(id, m.actor.user)
            .await?
            .ok_or(AppError::NotFound("idea"))?;
        let criteria = repo.discussion_criteria(scope.discussion_id).await?;
        let averages = repo.rating_averages(id).await?;
        let mine = repo.my_ratings(id, m.actor.user).await?;
        let ratings = criteria
            .into_iter()
            .map(|c| {
                let avg = averages.iter().find(|a| a.criterion_id == c.id);
                RatingView {
                    criterion_id: c.id,
                    criterion: c.name,
                    count: avg.map_or(0, |a| a.count),
                    average: avg.map(|a| (a.average * 100.0).round() / 100.0),
                    mine: mine
                        .iter()
                        .find(|r| r.criterion_id == c.id)
                        .map(|r| r.value as u8),
                }
            })
            .collect();
        // Files and links of a deleted comment are hidden with it, except from moderators.
        let moderator = m
            .allow(Action::Moderate(space_view(
                scope.space_private,
                scope.space_listed,
            )))
            .is_ok();
        let attachments = repo
            .attachments(id)
            .await?
            .into_iter()
            .filter(|a| moderator || !a.comment_deleted)
            .map(crate::files::attachment_out)
            .collect();
        let links = repo
            .links(id)
            .await?
            .into_iter()
            .filter(|l| moderator || !l.comment_deleted)
            .map(crate::files::link_out)
            .collect();
        let merges = repo
            .merges_of(id)
            .await?
            .into_iter()
            .filter(|r| moderator || !r.source_deleted)
            .map(|r| MergeView {
                id: r.id,
                source_id: r.source_id,
                source_title: r.source_title,
                target_id: r.target_id,
                merged_by: r.merged_by,
                merged_at: r.merged_at,
                unmerged_at: r.unmerged_at,
            })
            .collect();
        let merged_into = rec.merged_into.map(IdeaId);
        let deleted_at = rec.deleted_at;
        Ok(IdeaView {
            summary: summary(rec),
            body_html: markdown::render(&body),
            body,
            merged_into,
            deleted_at,
            ratings,
            attachments,
            links,
            merges,
        })
    }

    /// Edits an idea's title, body or tags (author or moderator).
    pub async fn update_idea(&self, m: &Member, id: IdeaId, p: IdeaPatch) -> AppResult<IdeaView> {
        let mut tx = self.store.begin().await?;
        let scope = self.live_idea(&mut tx, m, id).await?;
        let space = space_view(scope.space_private, scope.space_listed);
        m.allow(Action::EditIdea {
            space,
            is_author: scope.author_id == m.actor.user,
        })?;
        let mut repo = tx.workspace(m.workspace);
        let (rec, old_body) = repo
            .idea(id, m.actor.user)
            .await?
            .ok_or(AppError::NotFound("idea"))?;
        let title = IdeaTitle::parse(p.title.as_deref().unwrap_or(&rec.title))?;
        let body = IdeaBody::parse(p.body.as_deref().unwrap_or(&old_body))?;
        let tags = match &p.tags {
            Some(t) => Tag::parse_list(t)?,
            None => serde_json::from_str::<Vec<String>>(&rec.tags)
                .unwrap_or_default()
                .into_iter()
                .map(Tag::from_trusted)
                .collect(),
        };
        let excerpt = markdown::excerpt(body.as_str(), EXCERPT_CHARS);
        repo.update_idea(id, &title, &body, &excerpt, &tags, self.now())
            .await?;
        tx.commit().await?;
        self.idea(m, id).await
    }

    /// Soft-deletes an idea (author or moderator). Moderators can restore it.
    pub async fn delete_idea(&self, m: &Member, id: IdeaId) -> AppResult<()> {
        let mut tx = self.store.begin().await?;
        let scope = self.visible_idea(&mut tx, m, id).await?;
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
        tx.commit().await?;
        Ok(())
    }

    /// Restores a soft-deleted idea (moderator).
    pub async fn restore_idea(&self, m: &Member, id: IdeaId) -> AppResult<IdeaView> {
        let mut tx = self.store.begin().await?;
        let scope = self.visible_idea(&mut tx, m, id).await?;
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
        repo.set_idea_stage(id, input.stage_id, self.now()).await?;
        tx.commit().await?;
        self.idea(m, id).await
    }

    /// Merges the duplicate `source` into `input.into` (moderator). Votes and comments move; the
    /// merge can be undone with [`Self::unmerge`].
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
        tx.commit().await?;
        self.idea(m, target).await
    }

    /// Undoes the merge of `source` (moderator): its votes and comments return.
    pub async fn unmerge(&self, m: &Member, source: IdeaId) -> AppResult<IdeaView> {
        let mut tx = self.store.begin().await?;
        let s = self.visible_idea(&mut tx, m, source).await?;
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
