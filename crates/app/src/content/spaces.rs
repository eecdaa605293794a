//! Spaces and discussions.

use std::collections::BTreeSet;

use ideaweave_domain::policy::{Action, can_see_space};
use ideaweave_domain::*;
use ideaweave_store::records::{CriterionRecord, DiscussionRecord, SpaceRecord};

use ideaweave_store::{NewDiscussion, Within};

use ideaweave_store::Tx;

use crate::platform::sealed::at;
use crate::platform::sealed::{Column, column};
use crate::trust::audit::{AuditAction, Target};
use crate::*;
use crate::{App, AppError, AppResult, Member, space_view};
use serde_json::json;

/// Seals a row's two texts (a name or title and a description) with the workspace's key.
fn sealed_pair(
    key: &crate::platform::keyring::SealingKey,
    ws: WorkspaceId,
    row: uuid::Uuid,
    [(c1, t1), (c2, t2)]: [(Column, &str); 2],
) -> AppResult<(Vec<u8>, Vec<u8>)> {
    Ok((
        key.seal_text(ws, c1, row, t1)?,
        key.seal_text(ws, c2, row, t2)?,
    ))
}

fn check_deadline(deadline: Option<i64>) -> AppResult<()> {
    match deadline {
        Some(d) if !(0..=253_402_300_799_000).contains(&d) => Err(AppError::invalid(
            "deadline",
            "must be a time in Unix milliseconds between 1970 and 9999",
        )),
        _ => Ok(()),
    }
}

impl App {
    async fn space_out(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        s: SpaceRecord,
    ) -> AppResult<SpaceView> {
        Ok(SpaceView {
            name: self
                .open_text(tx, &at(ws, column::SPACES_NAME, s.id.0), &s.name)
                .await?,
            description: self
                .open_text(
                    tx,
                    &at(ws, column::SPACES_DESCRIPTION, s.id.0),
                    &s.description,
                )
                .await?,
            id: s.id,
            private: s.private,
            created_at: s.created_at,
        })
    }

    /// A discussion's title and description, opened.
    pub(crate) async fn discussion_text(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        d: &DiscussionRecord,
    ) -> AppResult<(String, String)> {
        Ok((
            self.open_text(tx, &at(ws, column::DISCUSSIONS_TITLE, d.id.0), &d.title)
                .await?,
            self.open_text(
                tx,
                &at(ws, column::DISCUSSIONS_DESCRIPTION, d.id.0),
                &d.description,
            )
            .await?,
        ))
    }

    pub(crate) async fn discussion_out(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        d: DiscussionRecord,
        criteria: Vec<CriterionRecord>,
    ) -> AppResult<DiscussionView> {
        let accepting = d.open && d.deadline.is_none_or(|t| t > self.now());
        let (title, description) = self.discussion_text(tx, ws, &d).await?;
        Ok(DiscussionView {
            id: d.id,
            space_id: d.space_id,
            kind: DiscussionKind::parse(&d.kind),
            description_html: markdown::render(&description),
            title,
            description,
            open: d.open,
            deadline: d.deadline,
            accepting_ideas: accepting,
            idea_count: d.idea_count,
            criteria: self.criterion_views(tx, ws, criteria).await?,
            created_by: d.created_by,
            created_at: d.created_at,
            updated_at: d.updated_at,
            following: d.following,
        })
    }

    /// The spaces the caller may see.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn spaces(&self, m: &Member) -> AppResult<Vec<SpaceView>> {
        m.allow(Action::ReadWorkspace)?;
        let mut tx = self.store.read().await?;
        let all = tx.workspace(m.workspace).spaces(m.actor.user).await?;
        let mut out = Vec::new();
        for s in all {
            if can_see_space(m.role(), space_view(s.private, s.listed)) {
                out.push(self.space_out(&mut tx, m.workspace, s).await?);
            }
        }
        // Names are sealed, so the database cannot sort by them.
        out.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then(a.id.0.cmp(&b.id.0))
        });
        Ok(out)
    }

    /// Creates a space.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn create_space(&self, m: &Member, input: SpaceInput) -> AppResult<SpaceView> {
        m.allow(Action::CreateSpace)?;
        let name = SpaceName::parse(&input.name)?;
        let description = Description::parse(&input.description)?;
        let id = SpaceId::new();
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mut repo = tx.workspace(m.workspace);
        let key = self.keyring.data_key(&mut repo, None, now).await?;
        let (sn, sd) = sealed_pair(
            &key,
            m.workspace,
            id.0,
            [
                (column::SPACES_NAME, name.as_str()),
                (column::SPACES_DESCRIPTION, description.as_str()),
            ],
        )?;
        repo.insert_space(id, &sn, &sd, input.private, m.actor.user, now)
            .await?;
        tx.commit().await?;
        Ok(SpaceView {
            id,
            name: name.into_inner(),
            description: description.into_inner(),
            private: input.private,
            created_at: now,
        })
    }

    async fn load_space(
        &self,
        tx: &mut ideaweave_store::Tx,
        m: &Member,
        id: SpaceId,
    ) -> AppResult<SpaceRecord> {
        tx.workspace(m.workspace)
            .space(id, m.actor.user)
            .await?
            .ok_or(AppError::NotFound("space"))
    }

    /// One space.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn space(&self, m: &Member, id: SpaceId) -> AppResult<SpaceView> {
        let mut tx = self.store.read().await?;
        let s = self.load_space(&mut tx, m, id).await?;
        m.allow(Action::ReadContent(space_view(s.private, s.listed)))?;
        self.space_out(&mut tx, m.workspace, s).await
    }

    /// Changes a space's name, description or visibility.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn update_space(
        &self,
        m: &Member,
        id: SpaceId,
        input: SpaceInput,
    ) -> AppResult<SpaceView> {
        let name = SpaceName::parse(&input.name)?;
        let description = Description::parse(&input.description)?;
        let mut tx = self.store.begin().await?;
        let s = self.load_space(&mut tx, m, id).await?;
        m.allow(Action::ManageSpace(space_view(s.private, s.listed)))?;
        if input.private != s.private {
            // Who may see a space is who gets in: never support's to change.
            m.refuse_support()?;
        }
        let mut repo = tx.workspace(m.workspace);
        let key = self.keyring.data_key(&mut repo, None, self.now()).await?;
        let (sn, sd) = sealed_pair(
            &key,
            m.workspace,
            id.0,
            [
                (column::SPACES_NAME, name.as_str()),
                (column::SPACES_DESCRIPTION, description.as_str()),
            ],
        )?;
        repo.update_space(id, &sn, &sd, input.private).await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::SpaceChanged,
            Target::Thing("space", id.0),
            json!({"private": input.private}),
        )
        .await?;
        tx.commit().await?;
        Ok(SpaceView {
            id,
            name: name.into_inner(),
            description: description.into_inner(),
            private: input.private,
            created_at: s.created_at,
        })
    }

    /// Deletes a space with everything in it.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn delete_space(&self, m: &Member, id: SpaceId) -> AppResult<()> {
        let mut tx = self.store.begin().await?;
        let s = self.load_space(&mut tx, m, id).await?;
        m.allow(Action::ManageSpace(space_view(s.private, s.listed)))?;
        m.refuse_support()?;
        let mut repo = tx.workspace(m.workspace);
        let files = repo.attachments_within(Within::Space(id)).await?;
        repo.delete_space(id).await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::SpaceChanged,
            Target::Thing("space", id.0),
            json!({"deleted": true, "files": files.len()}),
        )
        .await?;
        tx.commit().await?;
        self.remove_files(m.workspace, &files).await;
        Ok(())
    }

    /// Deletes a discussion with every idea in it. An admin's decision, like deleting a space:
    /// moderators run discussions, but the ideas in one are many people's work.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn delete_discussion(&self, m: &Member, id: DiscussionId) -> AppResult<()> {
        let mut tx = self.store.begin().await?;
        let d = self.load_discussion(&mut tx, m, id).await?;
        m.allow(Action::ManageSpace(space_view(
            d.space_private,
            d.space_listed,
        )))?;
        m.refuse_support()?;
        let mut repo = tx.workspace(m.workspace);
        let files = repo.attachments_within(Within::Discussion(id)).await?;
        repo.delete_discussion(id).await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::DiscussionChanged,
            Target::Thing("discussion", id.0),
            json!({"deleted": true, "ideas": d.idea_count, "files": files.len()}),
        )
        .await?;
        tx.commit().await?;
        self.remove_files(m.workspace, &files).await;
        Ok(())
    }

    /// The members listed in a space.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn space_members(&self, m: &Member, id: SpaceId) -> AppResult<Vec<MemberView>> {
        let mut tx = self.store.read().await?;
        let s = self.load_space(&mut tx, m, id).await?;
        m.allow(Action::ReadContent(space_view(s.private, s.listed)))?;
        m.allow(Action::ReadMembers)?;
        let rows = tx.workspace(m.workspace).space_members(id).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.member_view(&mut tx, r, m).await?);
        }
        Ok(out)
    }

    /// Lists a workspace member in a space.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn add_space_member(
        &self,
        m: &Member,
        id: SpaceId,
        input: SpaceMemberInput,
    ) -> AppResult<()> {
        let mut tx = self.store.begin().await?;
        let s = self.load_space(&mut tx, m, id).await?;
        m.allow(Action::ManageSpace(space_view(s.private, s.listed)))?;
        m.refuse_support()?;
        let mut repo = tx.workspace(m.workspace);
        if repo.role_of(input.user_id).await?.is_none() {
            return Err(AppError::NotFound("member"));
        }
        repo.add_space_member(id, input.user_id).await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::SpaceChanged,
            Target::Person(input.user_id),
            json!({"space": id.0, "listed": true}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Unlists a member from a space.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn remove_space_member(
        &self,
        m: &Member,
        id: SpaceId,
        user: UserId,
    ) -> AppResult<()> {
        let mut tx = self.store.begin().await?;
        let s = self.load_space(&mut tx, m, id).await?;
        m.allow(Action::ManageSpace(space_view(s.private, s.listed)))?;
        m.refuse_support()?;
        if !tx
            .workspace(m.workspace)
            .remove_space_member(id, user)
            .await?
        {
            return Err(AppError::NotFound("space member"));
        }
        self.audit_by(
            &mut tx,
            m,
            AuditAction::SpaceChanged,
            Target::Person(user),
            json!({"space": id.0, "listed": false}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // ---- discussions -----------------------------------------------------------------------

    /// The discussions of a space.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn discussions(&self, m: &Member, space: SpaceId) -> AppResult<Vec<DiscussionView>> {
        let mut tx = self.store.read().await?;
        let s = self.load_space(&mut tx, m, space).await?;
        m.allow(Action::ReadContent(space_view(s.private, s.listed)))?;
        let rows = tx
            .workspace(m.workspace)
            .discussions_in(space, m.actor.user)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for d in rows {
            let criteria = tx.workspace(m.workspace).discussion_criteria(d.id).await?;
            out.push(
                self.discussion_out(&mut tx, m.workspace, d, criteria)
                    .await?,
            );
        }
        Ok(out)
    }

    async fn checked_criteria(
        &self,
        tx: &mut ideaweave_store::Tx,
        m: &Member,
        ids: &[CriterionId],
    ) -> AppResult<Vec<CriterionId>> {
        let known = tx.workspace(m.workspace).criteria().await?;
        let mut out: Vec<CriterionId> = Vec::new();
        for id in ids {
            if !known.iter().any(|c| c.id == *id) {
                return Err(AppError::invalid(
                    "criteria",
                    format!("{id} is not a rating criterion of this workspace"),
                ));
            }
            if !out.contains(id) {
                out.push(*id);
            }
        }
        Ok(out)
    }

    /// Opens a discussion in a space.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn create_discussion(
        &self,
        m: &Member,
        space: SpaceId,
        input: DiscussionInput,
    ) -> AppResult<DiscussionView> {
        let title = DiscussionTitle::parse(&input.title)?;
        let description = Description::parse(&input.description)?;
        check_deadline(input.deadline)?;
        let mut tx = self.store.begin().await?;
        let s = self.load_space(&mut tx, m, space).await?;
        m.allow(Action::CreateDiscussion(space_view(s.private, s.listed)))?;
        let criteria = self.checked_criteria(&mut tx, m, &input.criteria).await?;
        let id = DiscussionId::new();
        let mut repo = tx.workspace(m.workspace);
        let key = self.keyring.data_key(&mut repo, None, self.now()).await?;
        let (st, sd) = sealed_pair(
            &key,
            m.workspace,
            id.0,
            [
                (column::DISCUSSIONS_TITLE, title.as_str()),
                (column::DISCUSSIONS_DESCRIPTION, description.as_str()),
            ],
        )?;
        repo.insert_discussion(
            NewDiscussion {
                id,
                space,
                kind: input.kind.as_str(),
                title: &st,
                description: &sd,
                deadline: input.deadline,
                created_by: m.actor.user,
            },
            self.now(),
        )
        .await?;
        repo.set_discussion_criteria(id, &criteria).await?;
        let d = repo
            .discussion(id, m.actor.user)
            .await?
            .ok_or(AppError::NotFound("discussion"))?;
        let crit = repo.discussion_criteria(id).await?;
        let view = self.discussion_out(&mut tx, m.workspace, d, crit).await?;
        tx.commit().await?;
        Ok(view)
    }

    pub(crate) async fn load_discussion(
        &self,
        tx: &mut ideaweave_store::Tx,
        m: &Member,
        id: DiscussionId,
    ) -> AppResult<DiscussionRecord> {
        tx.workspace(m.workspace)
            .discussion(id, m.actor.user)
            .await?
            .ok_or(AppError::NotFound("discussion"))
    }

    /// One discussion.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn discussion(&self, m: &Member, id: DiscussionId) -> AppResult<DiscussionView> {
        let mut tx = self.store.read().await?;
        let d = self.load_discussion(&mut tx, m, id).await?;
        m.allow(Action::ReadContent(space_view(
            d.space_private,
            d.space_listed,
        )))?;
        let criteria = tx.workspace(m.workspace).discussion_criteria(id).await?;
        self.discussion_out(&mut tx, m.workspace, d, criteria).await
    }

    /// Changes a discussion: title, description, kind, open/closed, deadline, criteria.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn update_discussion(
        &self,
        m: &Member,
        id: DiscussionId,
        p: DiscussionPatch,
    ) -> AppResult<DiscussionView> {
        let mut tx = self.store.begin().await?;
        let d = self.load_discussion(&mut tx, m, id).await?;
        m.allow(Action::ManageDiscussion(space_view(
            d.space_private,
            d.space_listed,
        )))?;
        let (old_title, old_description) = self.discussion_text(&mut tx, m.workspace, &d).await?;
        let title = DiscussionTitle::parse(p.title.as_deref().unwrap_or(&old_title))?;
        let description = Description::parse(p.description.as_deref().unwrap_or(&old_description))?;
        let kind = p.kind.unwrap_or(DiscussionKind::parse(&d.kind));
        let deadline = p.deadline.unwrap_or(d.deadline);
        check_deadline(deadline)?;
        let open = p.open.unwrap_or(d.open);
        let criteria = match &p.criteria {
            Some(ids) => Some(self.checked_criteria(&mut tx, m, ids).await?),
            None => None,
        };
        let mut repo = tx.workspace(m.workspace);
        let criteria_before: Vec<CriterionId> = repo
            .discussion_criteria(id)
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect();
        let key = self.keyring.data_key(&mut repo, None, self.now()).await?;
        let (st, sd) = sealed_pair(
            &key,
            m.workspace,
            id.0,
            [
                (column::DISCUSSIONS_TITLE, title.as_str()),
                (column::DISCUSSIONS_DESCRIPTION, description.as_str()),
            ],
        )?;
        repo.update_discussion(id, kind.as_str(), &st, &sd, open, deadline, self.now())
            .await?;
        if let Some(c) = &criteria {
            repo.set_discussion_criteria(id, c).await?;
        }
        let mut changed = Vec::new();
        for (field, differs) in [
            ("title", title.as_str() != old_title),
            ("description", description.as_str() != old_description),
            ("kind", kind.as_str() != d.kind),
            ("deadline", deadline != d.deadline),
            ("open", open != d.open),
            (
                "criteria",
                criteria.as_ref().is_some_and(|c| {
                    c.iter().collect::<BTreeSet<_>>() != criteria_before.iter().collect()
                }),
            ),
        ] {
            if differs {
                changed.push(field);
            }
        }
        let d = repo
            .discussion(id, m.actor.user)
            .await?
            .ok_or(AppError::NotFound("discussion"))?;
        let crit = repo.discussion_criteria(id).await?;
        let view = self.discussion_out(&mut tx, m.workspace, d, crit).await?;
        if !changed.is_empty() {
            self.audit_by(
                &mut tx,
                m,
                AuditAction::DiscussionChanged,
                Target::Thing("discussion", id.0),
                json!({"changed": changed, "open": open}),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(view)
    }
}
