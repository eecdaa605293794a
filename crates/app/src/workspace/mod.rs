//! Workspaces and who belongs to them: settings, members, roles, invitations and API tokens,
//! and the operator creating workspaces.

pub(crate) mod admin;
pub(crate) mod views;

use std::cmp::Reverse;

use ideaweave_domain::paging::{decode_id_cursor, encode_id_cursor, page_limit};
use ideaweave_domain::policy::Action;
use ideaweave_domain::*;
use ideaweave_store::records::{InvitationRecord, TokenRecord};

use ideaweave_store::{OrderedList, Tx};

use crate::identity::auth::TOKEN_PREFIX;
use crate::platform::sealed::{Column, column};
use crate::platform::sealed::{account, at};
use crate::platform::secrets::{parse_workspace_secret, workspace_secret};
use crate::trust::audit::{AuditAction, AuditEvent, ClientInfo, Outcome, Target, Who};
use crate::*;
use crate::{App, AppError, AppResult, Member, Principal, parse_role};
use serde_json::json;

/// The prefix of invitation tokens.
const INVITATION_PREFIX: &str = "iwi";

/// A pending invitation found by its secret, opened.
struct LiveInvitation {
    inv: InvitationRecord,
    workspace: WorkspaceId,
    workspace_slug: String,
    workspace_name: String,
    email: Email,
    /// The account the invitation is addressed to, if it exists.
    account: Option<UserId>,
}

/// One entry of an ordered list whose names are unique (the stages, the rating criteria).
struct ListEntry<'a> {
    id: uuid::Uuid,
    name: &'a str,
    position: i64,
}

/// Which ordered, named list of the workspace's settings.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NamedList {
    Stages,
    Criteria,
}

/// What such a list is called in messages, how long it may grow, and where its names are sealed.
struct ListKind {
    list: NamedList,
    singular: &'static str,
    plural: &'static str,
    max: usize,
    names: Column,
}

const STAGE_LIST: ListKind = ListKind {
    list: NamedList::Stages,
    singular: "stage",
    plural: "stages",
    max: 50,
    names: column::STAGES_NAME,
};
const CRITERION_LIST: ListKind = ListKind {
    list: NamedList::Criteria,
    singular: "criterion",
    plural: "rating criteria",
    max: 20,
    names: column::RATING_CRITERIA_NAME,
};

/// Checks a new entry (`id` = None) or a changed one against its list and returns its position:
/// the one asked for, else the end of the list for a new entry or the current one for a changed
/// entry. Names are unique whatever their case.
fn place_in_list(
    existing: &[ListEntry],
    id: Option<uuid::Uuid>,
    name: &str,
    requested: Option<i64>,
    kind: &ListKind,
) -> AppResult<i64> {
    let default_position = match id {
        Some(id) => existing
            .iter()
            .find(|e| e.id == id)
            .map(|e| e.position)
            .ok_or(AppError::NotFound(kind.singular))?,
        None if existing.len() >= kind.max => {
            return Err(AppError::Conflict(format!(
                "a workspace can have at most {} {}",
                kind.max, kind.plural
            )));
        }
        None => existing.len() as i64,
    };
    if existing
        .iter()
        .any(|e| Some(e.id) != id && e.name.eq_ignore_ascii_case(name))
    {
        return Err(AppError::Conflict(format!(
            "a {} named {name:?} already exists",
            kind.singular
        )));
    }
    Ok(requested.unwrap_or(default_position).clamp(0, 1000))
}

/// Whether `viewer` is told the day each member was last active: admins and owners, but not
/// the operator's support staff acting as one.
fn sees_activity(viewer: &Member) -> bool {
    viewer.role() >= Role::Admin && viewer.support.is_none()
}

/// Numbers a list's entries 0, 1, 2… in the given order, writing only those whose stored
/// position differs (`skip`: an entry the caller writes itself).
async fn close_up(
    repo: &mut ideaweave_store::WorkspaceRepo<'_>,
    list: NamedList,
    order: &[(uuid::Uuid, i64)],
    skip: Option<uuid::Uuid>,
) -> AppResult<()> {
    let list = match list {
        NamedList::Stages => OrderedList::Stages,
        NamedList::Criteria => OrderedList::Criteria,
    };
    for (index, (entry, stored)) in order.iter().enumerate() {
        let index = index as i64;
        if Some(*entry) != skip && *stored != index {
            repo.set_list_position(list, *entry, index).await?;
        }
    }
    Ok(())
}

impl App {
    pub(crate) async fn token_view(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        t: TokenRecord,
    ) -> AppResult<TokenView> {
        Ok(TokenView {
            id: t.id,
            name: self
                .open_text(tx, &at(ws, column::API_TOKENS_NAME, t.id.0), &t.name)
                .await?,
            scope: t.scope.parse().map_err(AppError::internal)?,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked: t.revoked_at.is_some(),
            last_used_on: t.last_used_on,
        })
    }

    async fn invitation_email(&self, tx: &mut Tx, i: &InvitationRecord) -> AppResult<String> {
        self.open_text(
            tx,
            &at(i.workspace_id, column::INVITATIONS_EMAIL, i.id.0),
            &i.email,
        )
        .await
    }

    async fn invitation_view(&self, tx: &mut Tx, i: InvitationRecord) -> AppResult<InvitationView> {
        Ok(InvitationView {
            id: i.id,
            email: self.invitation_email(tx, &i).await?,
            role: parse_role(&i.role)?,
            created_at: i.created_at,
            expires_at: i.expires_at,
        })
    }

    /// A member as `viewer` may see them: the email address only for admins and owners, the
    /// last active day only for them and not for the operator's support staff acting as one.
    pub(crate) async fn member_view(
        &self,
        tx: &mut Tx,
        r: ideaweave_store::records::MemberRecord,
        viewer: &Member,
    ) -> AppResult<MemberView> {
        let admin_view = viewer.role() >= Role::Admin;
        let email = match admin_view {
            true => Some(
                self.open_text(tx, &account(column::USERS_EMAIL, r.user_id), &r.email)
                    .await?,
            ),
            false => None,
        };
        Ok(MemberView {
            user_id: r.user_id,
            name: self
                .open_text(tx, &account(column::USERS_NAME, r.user_id), &r.name)
                .await?,
            email,
            role: parse_role(&r.role)?,
            joined_at: r.joined_at,
            last_active_on: r.last_active_on.filter(|_| sees_activity(viewer)),
        })
    }

    /// A workspace's stages, opened.
    pub(crate) async fn stage_views(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
    ) -> AppResult<Vec<StageView>> {
        let rows = tx.workspace(ws).stages().await?;
        self.stage_views_of(tx, ws, rows).await
    }

    /// Stage records, opened.
    pub(crate) async fn stage_views_of(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        rows: Vec<ideaweave_store::records::StageRecord>,
    ) -> AppResult<Vec<StageView>> {
        let mut out = Vec::with_capacity(rows.len());
        for s in rows {
            out.push(StageView {
                name: self
                    .open_text(tx, &at(ws, column::STAGES_NAME, s.id.0), &s.name)
                    .await?,
                id: s.id,
                position: s.position,
            });
        }
        Ok(out)
    }

    /// A workspace's rating criteria, opened.
    pub(crate) async fn criterion_views(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        rows: Vec<ideaweave_store::records::CriterionRecord>,
    ) -> AppResult<Vec<CriterionView>> {
        let mut out = Vec::new();
        for c in rows {
            out.push(CriterionView {
                name: self
                    .open_text(tx, &at(ws, column::RATING_CRITERIA_NAME, c.id.0), &c.name)
                    .await?,
                id: c.id,
                position: c.position,
            });
        }
        Ok(out)
    }

    /// The workspace, its stages and criteria.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn workspace(&self, m: &Member) -> AppResult<WorkspaceView> {
        m.allow(Action::ReadWorkspace)?;
        let mut tx = self.store.read().await?;
        let ws = tx
            .workspace_by_slug(&m.slug)
            .await?
            .ok_or(AppError::NotFound("workspace"))?;
        self.workspace_view_in(&mut tx, ws, m.role()).await
    }

    /// A workspace record as its member with `role` sees it: name, stages and criteria opened
    /// (stages and criteria read in one statement).
    pub(crate) async fn workspace_view_in(
        &self,
        tx: &mut Tx,
        ws: ideaweave_store::records::WorkspaceRecord,
        role: ideaweave_domain::Role,
    ) -> AppResult<WorkspaceView> {
        let (stages, criteria) = tx.workspace(ws.id).stages_and_criteria().await?;
        let stages = self.stage_views_of(tx, ws.id, stages).await?;
        let criteria = self.criterion_views(tx, ws.id, criteria).await?;
        Ok(WorkspaceView {
            id: ws.id,
            name: self.workspace_name(tx, ws.id, &ws.name).await?,
            slug: ws.slug,
            my_role: role,
            stages,
            criteria,
        })
    }

    /// Renames the workspace.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn rename_workspace(
        &self,
        m: &Member,
        input: WorkspacePatch,
    ) -> AppResult<WorkspaceView> {
        m.allow(Action::ManageSettings)?;
        let name = WorkspaceName::parse(&input.name)?;
        let mut tx = self.store.begin().await?;
        let mut repo = tx.workspace(m.workspace);
        let key = self.keyring.data_key(&mut repo, None, self.now()).await?;
        let sealed = key.seal_text(
            m.workspace,
            column::WORKSPACES_NAME,
            m.workspace.0,
            name.as_str(),
        )?;
        repo.rename(&sealed).await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::SettingsChanged,
            Target::Scope,
            json!({"changed": "name"}),
        )
        .await?;
        tx.commit().await?;
        self.workspace(m).await
    }

    /// Adds a stage.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn create_stage(&self, m: &Member, input: NamedItemInput) -> AppResult<StageView> {
        self.save_stage(m, None, input).await
    }

    /// Renames or moves a stage.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn update_stage(
        &self,
        m: &Member,
        id: StageId,
        input: NamedItemInput,
    ) -> AppResult<StageView> {
        self.save_stage(m, Some(id), input).await
    }

    async fn save_stage(
        &self,
        m: &Member,
        id: Option<StageId>,
        input: NamedItemInput,
    ) -> AppResult<StageView> {
        m.allow(Action::ManageSettings)?;
        let name = StageName::parse(&input.name)?;
        let (id, position) = self
            .save_in_list(
                m,
                &STAGE_LIST,
                id.map(|i| i.0),
                name.as_str(),
                input.position,
            )
            .await?;
        Ok(StageView {
            id: StageId(id),
            name: name.into_inner(),
            position,
        })
    }

    /// Adds or changes an entry of a stage or criterion list: checks its name and place against
    /// the list, seals the name with the workspace's key, records the change. Returns the
    /// entry's id and position.
    async fn save_in_list(
        &self,
        m: &Member,
        kind: &ListKind,
        id: Option<uuid::Uuid>,
        name: &str,
        position: Option<i64>,
    ) -> AppResult<(uuid::Uuid, i64)> {
        let mut tx = self.store.begin().await?;
        let existing: Vec<(uuid::Uuid, String, i64)> = match kind.list {
            NamedList::Stages => self
                .stage_views(&mut tx, m.workspace)
                .await?
                .into_iter()
                .map(|s| (s.id.0, s.name, s.position))
                .collect(),
            NamedList::Criteria => {
                let rows = tx.workspace(m.workspace).criteria().await?;
                self.criterion_views(&mut tx, m.workspace, rows)
                    .await?
                    .into_iter()
                    .map(|c| (c.id.0, c.name, c.position))
                    .collect()
            }
        };
        let entries: Vec<ListEntry> = existing
            .iter()
            .map(|(id, name, position)| ListEntry {
                id: *id,
                name,
                position: *position,
            })
            .collect();
        // An entry that exists and is given a place moves there by its place in the list (0
        // first), whatever numbers are stored; every entry is then renumbered 0, 1, 2…, which
        // also closes gaps left by older deletions, so "move up" always passes exactly one.
        let moving = id.is_some() && position.is_some();
        let mut position = place_in_list(&entries, id, name, position, kind)?;
        let id = id.unwrap_or_else(uuid::Uuid::now_v7);
        let mut repo = tx.workspace(m.workspace);
        if moving {
            let mut order: Vec<(uuid::Uuid, i64)> = entries
                .iter()
                .filter(|e| e.id != id)
                .map(|e| (e.id, e.position))
                .collect();
            let at = usize::try_from(position).unwrap_or(0).min(order.len());
            order.insert(at, (id, -1));
            position = at as i64;
            close_up(&mut repo, kind.list, &order, Some(id)).await?;
        }
        let key = self.keyring.data_key(&mut repo, None, self.now()).await?;
        let sealed = key.seal_text(m.workspace, kind.names, id, name)?;
        match kind.list {
            NamedList::Stages => repo.upsert_stage(StageId(id), &sealed, position).await?,
            NamedList::Criteria => {
                repo.upsert_criterion(CriterionId(id), &sealed, position)
                    .await?
            }
        }
        self.audit_by(
            &mut tx,
            m,
            AuditAction::SettingsChanged,
            Target::Thing(kind.singular, id),
            json!({"changed": kind.singular, "position": position}),
        )
        .await?;
        tx.commit().await?;
        Ok((id, position))
    }

    /// Deletes a stage no idea is in.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn delete_stage(&self, m: &Member, id: StageId) -> AppResult<()> {
        m.allow(Action::ManageSettings)?;
        let mut tx = self.store.begin().await?;
        let mut repo = tx.workspace(m.workspace);
        let stages = repo.stages().await?;
        if !stages.iter().any(|s| s.id == id) {
            return Err(AppError::NotFound("stage"));
        }
        if stages.len() == 1 {
            return Err(AppError::Conflict(
                "the last stage cannot be deleted".into(),
            ));
        }
        let n = repo.ideas_in_stage(id).await?;
        if n > 0 {
            return Err(AppError::Conflict(format!(
                "{n} idea(s) are in this stage; move them to another stage first"
            )));
        }
        repo.delete_stage(id).await?;
        let rest: Vec<(uuid::Uuid, i64)> = stages
            .iter()
            .filter(|s| s.id != id)
            .map(|s| (s.id.0, s.position))
            .collect();
        close_up(&mut repo, NamedList::Stages, &rest, None).await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::SettingsChanged,
            Target::Thing("stage", id.0),
            json!({"changed": "stage", "deleted": true}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a rating criterion.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn create_criterion(
        &self,
        m: &Member,
        input: NamedItemInput,
    ) -> AppResult<CriterionView> {
        self.save_criterion(m, None, input).await
    }

    /// Renames or moves a criterion.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn update_criterion(
        &self,
        m: &Member,
        id: CriterionId,
        input: NamedItemInput,
    ) -> AppResult<CriterionView> {
        self.save_criterion(m, Some(id), input).await
    }

    async fn save_criterion(
        &self,
        m: &Member,
        id: Option<CriterionId>,
        input: NamedItemInput,
    ) -> AppResult<CriterionView> {
        m.allow(Action::ManageSettings)?;
        let name = CriterionName::parse(&input.name)?;
        let (id, position) = self
            .save_in_list(
                m,
                &CRITERION_LIST,
                id.map(|i| i.0),
                name.as_str(),
                input.position,
            )
            .await?;
        Ok(CriterionView {
            id: CriterionId(id),
            name: name.into_inner(),
            position,
        })
    }

    /// Deletes a criterion and the ratings given on it.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn delete_criterion(&self, m: &Member, id: CriterionId) -> AppResult<()> {
        m.allow(Action::ManageSettings)?;
        // Takes every rating on it with it: nothing support may destroy.
        m.refuse_support()?;
        let mut tx = self.store.begin().await?;
        let mut repo = tx.workspace(m.workspace);
        if !repo.delete_criterion(id).await? {
            return Err(AppError::NotFound("criterion"));
        }
        let rest: Vec<(uuid::Uuid, i64)> = repo
            .criteria()
            .await?
            .into_iter()
            .map(|c| (c.id.0, c.position))
            .collect();
        close_up(&mut repo, NamedList::Criteria, &rest, None).await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::SettingsChanged,
            Target::Thing("criterion", id.0),
            json!({"changed": "criterion", "deleted": true}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // ---- members ---------------------------------------------------------------------------

    /// A page of members.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn members(&self, m: &Member, q: PageQuery) -> AppResult<Page<MemberView>> {
        m.allow(Action::ReadMembers)?;
        let limit = page_limit(q.limit)?;
        let after = q.cursor.as_deref().map(decode_id_cursor).transpose()?;
        let mut tx = self.store.read().await?;
        let rows = tx.workspace(m.workspace).members(after, limit + 1).await?;
        let page = Page::from_rows_plus_one(rows, limit, |r| encode_id_cursor(r.user_id.0), Ok)?;
        let mut items = Vec::with_capacity(page.items.len());
        for r in page.items {
            items.push(self.member_view(&mut tx, r, m).await?);
        }
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }

    /// The member list as the members page shows it: found by a part of a name (or, for admins,
    /// of an address), ordered by `sort`, one page of `limit` from `offset`, with the number of
    /// matches. Names and addresses are sealed, so they cannot be searched or sorted in SQL;
    /// the workspace's members are opened and compared here (a few microseconds each).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn member_directory(
        &self,
        m: &Member,
        q: MemberDirectoryQuery,
    ) -> AppResult<MemberDirectory> {
        m.allow(Action::ReadMembers)?;
        let needle = q.search.trim().to_lowercase();
        let mut tx = self.store.read().await?;
        let mut found = Vec::new();
        let mut after = None;
        loop {
            let rows = tx.workspace(m.workspace).members(after, 1000).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.user_id.0);
            let full = rows.len() == 1000;
            for r in rows {
                let v = self.member_view(&mut tx, r, m).await?;
                let hit = needle.is_empty()
                    || v.name.to_lowercase().contains(&needle)
                    || v.email
                        .as_deref()
                        .is_some_and(|e| e.to_lowercase().contains(&needle));
                if hit {
                    found.push(v);
                }
            }
            if !full {
                break;
            }
        }
        // Each key is computed once per member (names lowered once, not per comparison); ties
        // go by name, then id, so the order is stable between pages.
        let name = |v: &MemberView| (v.name.to_lowercase(), v.user_id.0);
        match q.sort {
            MemberSort::Name => found.sort_by_cached_key(name),
            MemberSort::Role => found.sort_by_cached_key(|v| (Reverse(v.role), name(v))),
            MemberSort::Joined => found.sort_by_cached_key(|v| (Reverse(v.joined_at), name(v))),
            // Never active last; those who see no dates get the name order.
            MemberSort::Active if sees_activity(m) => {
                found.sort_by_cached_key(|v| (Reverse(v.last_active_on), name(v)))
            }
            MemberSort::Active => found.sort_by_cached_key(name),
        }
        let total = found.len();
        let items = found.into_iter().skip(q.offset).take(q.limit).collect();
        Ok(MemberDirectory { items, total })
    }

    /// Changes a member's role. The workspace always keeps an owner.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn change_role(
        &self,
        m: &Member,
        user: UserId,
        input: RoleInput,
    ) -> AppResult<MemberView> {
        let mut tx = self.store.begin().await?;
        let mut repo = tx.workspace(m.workspace);
        repo.lock_owners().await?;
        let target = repo
            .member(user)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        let current = parse_role(&target.role)?;
        m.allow(Action::ReadMembers)?;
        m.allow(Action::ChangeRole {
            current,
            new: input.role,
        })?;
        if current == Role::Owner && input.role != Role::Owner && repo.owner_count().await? <= 1 {
            return Err(AppError::Conflict(
                "the workspace must keep at least one owner; make someone else owner first".into(),
            ));
        }
        if !repo.set_role(user, input.role).await? {
            return Err(AppError::NotFound("member"));
        }
        let mut view = self.member_view(&mut tx, target, m).await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::MemberRoleChanged,
            Target::Person(user),
            json!({"from": current.as_str(), "to": input.role.as_str()}),
        )
        .await?;
        tx.commit().await?;
        view.role = input.role;
        Ok(view)
    }

    /// Removes a member (or lets a member leave). Their access ends with the next request.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn remove_member(&self, m: &Member, user: UserId) -> AppResult<()> {
        let mut tx = self.store.begin().await?;
        let mut repo = tx.workspace(m.workspace);
        repo.lock_owners().await?;
        let is_self = user == m.actor.user;
        if !is_self {
            m.allow(Action::ReadMembers)?;
        } else if m.reauth_at.is_none() {
            // Leaving ends every access at once; a leaked token must not be able to do that.
            return Err(AppError::Forbidden(
                "leave the workspace from a signed-in session; API tokens cannot".into(),
            ));
        }
        let target = repo
            .member(user)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        let role = parse_role(&target.role)?;
        m.allow(Action::RemoveMember {
            target: role,
            is_self,
        })?;
        if role == Role::Owner && repo.owner_count().await? <= 1 {
            return Err(AppError::Conflict(
                "the last owner cannot leave or be removed; make someone else owner first".into(),
            ));
        }
        repo.remove_member(user).await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::MemberRemoved,
            Target::Person(user),
            json!({"role": role.as_str(), "left": is_self}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // ---- invitations -----------------------------------------------------------------------

    /// Invites someone by email; the link works once, before it expires. Where this instance
    /// sends mail, the link is mailed to the address and not shown to the inviter: the mailbox
    /// is then the only way in, so whoever invites cannot open an account in the invitee's
    /// name, nor tell from accepting whether the address has one (issue 19, finding 7).
    /// Without mail, the inviter gets the link to pass on by hand.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn invite(&self, m: &Member, input: InvitationInput) -> AppResult<CreatedInvitation> {
        m.allow(Action::Invite { role: input.role })?;
        let email = Email::parse(&input.email)?;
        let mut created = self
            .create_invitation(
                m.workspace,
                &email,
                input.role,
                m.actor.user,
                Who::Person(m.actor.user),
                &m.client,
            )
            .await?;
        if self.settings.mail_enabled {
            created.token = None;
            created.accept_url = None;
        }
        Ok(created)
    }

    pub(crate) async fn create_invitation(
        &self,
        ws: WorkspaceId,
        email: &Email,
        role: Role,
        by: UserId,
        who: Who,
        client: &ClientInfo,
    ) -> AppResult<CreatedInvitation> {
        let now = self.now();
        let expires = now + self.settings.invitation_ttl.as_millis() as i64;
        let (token, hash) = workspace_secret(INVITATION_PREFIX, ws)?;
        let id = InvitationId::new();
        let mut tx = self.store.begin().await?;
        if let Some(u) = self.account_by_email(&mut tx, email).await?
            && tx.workspace(ws).role_of(u.id).await?.is_some()
        {
            return Err(AppError::Conflict(format!(
                "\"{email}\" is already a member"
            )));
        }
        // A link works once, and only the newest link to an address works: inviting the
        // address again revokes its pending invitation.
        let pending = tx.workspace(ws).pending_invitations(now).await?;
        for earlier in pending {
            let earlier_email = self.invitation_email(&mut tx, &earlier).await?;
            if !earlier_email.eq_ignore_ascii_case(email.as_str()) {
                continue;
            }
            tx.workspace(ws).revoke_invitation(earlier.id, now).await?;
            self.audit(
                &mut tx,
                AuditEvent {
                    workspace: Some(ws),
                    actor: who,
                    action: AuditAction::InvitationRevoked,
                    target: Target::Thing("invitation", earlier.id.0),
                    outcome: Outcome::Success,
                    client,
                    facts: json!({"replaced_by": id.0}),
                },
            )
            .await?;
        }
        let mut repo = tx.workspace(ws);
        let key = self.keyring.data_key(&mut repo, None, now).await?;
        let sealed = key.seal_text(ws, column::INVITATIONS_EMAIL, id.0, email.as_str())?;
        repo.insert_invitation(id, &sealed, role, &hash, by, now, expires)
            .await?;
        self.audit(
            &mut tx,
            AuditEvent {
                workspace: Some(ws),
                actor: who,
                action: AuditAction::InvitationCreated,
                target: Target::Thing("invitation", id.0),
                outcome: Outcome::Success,
                client,
                facts: json!({"role": role.as_str()}),
            },
        )
        .await?;
        let accept_url = format!(
            "{}/invitations/{token}",
            self.settings.public_url.trim_end_matches('/')
        );
        let ws_name = match tx.workspace_by_id(ws).await? {
            Some(w) => self.workspace_name(&mut tx, ws, &w.name).await?,
            None => return Err(AppError::NotFound("workspace")),
        };
        let mail = invitation_mail(
            email,
            &ws_name,
            role,
            &accept_url,
            self.settings.invitation_ttl,
        );
        self.queue_mail(&mut tx, ws, &mail).await?;
        tx.commit().await?;
        Ok(CreatedInvitation {
            invitation: InvitationView {
                id,
                email: email.to_string(),
                role,
                created_at: now,
                expires_at: expires,
            },
            token: Some(token),
            accept_url: Some(accept_url),
        })
    }

    /// Pending invitations.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn invitations(&self, m: &Member) -> AppResult<Vec<InvitationView>> {
        m.allow(Action::ManageInvitations)?;
        let mut tx = self.store.read().await?;
        let rows = tx
            .workspace(m.workspace)
            .pending_invitations(self.now())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for i in rows {
            out.push(self.invitation_view(&mut tx, i).await?);
        }
        Ok(out)
    }

    /// Revokes a pending invitation; its link stops working at once.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn revoke_invitation(&self, m: &Member, id: InvitationId) -> AppResult<()> {
        m.allow(Action::ManageInvitations)?;
        let mut tx = self.store.begin().await?;
        if !tx
            .workspace(m.workspace)
            .revoke_invitation(id, self.now())
            .await?
        {
            return Err(AppError::NotFound("invitation"));
        }
        self.audit_by(
            &mut tx,
            m,
            AuditAction::InvitationRevoked,
            Target::Thing("invitation", id.0),
            json!(null),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A pending invitation by its secret, with its opened address and its workspace's slug and
    /// opened name.
    async fn live_invitation(&self, token: &str) -> AppResult<LiveInvitation> {
        let gone = || AppError::NotFound("invitation");
        let (ws, hash) = parse_workspace_secret(INVITATION_PREFIX, token).ok_or_else(gone)?;
        let mut tx = self.store.read().await?;
        let inv = tx.invitation_by_hash(ws, &hash).await?.ok_or_else(gone)?;
        if inv.accepted_at.is_some() || inv.revoked_at.is_some() {
            return Err(AppError::Conflict(
                "this invitation has already been used or was revoked".into(),
            ));
        }
        if inv.expires_at <= self.now() {
            return Err(AppError::Conflict(
                "this invitation has expired; ask for a new one".into(),
            ));
        }
        let workspace = tx.workspace_by_id(ws).await?.ok_or_else(gone)?;
        let email = Email::parse(&self.invitation_email(&mut tx, &inv).await?)?;
        let account = self.account_by_email(&mut tx, &email).await?.map(|u| u.id);
        Ok(LiveInvitation {
            workspace_name: self.workspace_name(&mut tx, ws, &workspace.name).await?,
            workspace_slug: workspace.slug,
            workspace: ws,
            email,
            account,
            inv,
        })
    }

    /// What an invitation link offers. It never says whether the invited address has an
    /// account: whoever invited could otherwise learn it for any address (issue 19, finding 7).
    #[tracing::instrument(skip_all)]
    pub async fn invitation_info(&self, token: &str) -> AppResult<InvitationInfo> {
        let live = self.live_invitation(token).await?;
        Ok(InvitationInfo {
            workspace_name: live.workspace_name,
            workspace_slug: live.workspace_slug,
            email: live.email.to_string(),
            role: parse_role(&live.inv.role)?,
            expires_at: live.inv.expires_at,
        })
    }

    /// Accepts an invitation. Without an account for the invited address, `name` and `password`
    /// create one and sign it in (the returned session). With an existing account, the caller
    /// must be signed in as it.
    #[tracing::instrument(skip_all)]
    pub async fn accept_invitation(
        &self,
        token: &str,
        principal: Option<&Principal>,
        input: AcceptInput,
        client: &ClientInfo,
    ) -> AppResult<(MembershipView, Option<crate::LoginOutcome>)> {
        let live = self.live_invitation(token).await?;
        let (inv, email) = (&live.inv, &live.email);
        let role = parse_role(&inv.role)?;
        let now = self.now();
        let (user_id, new_account) = match live.account {
            Some(id) => {
                // Only a signed-in session accepts for an existing account: an API token acts
                // inside its own workspace and must not be able to join another.
                let session_user = principal.filter(|p| p.is_session()).map(|p| p.user);
                if session_user != Some(id) {
                    return Err(AppError::Forbidden(format!(
                        "an account for {email} exists: sign in as {email} and accept the invitation again"
                    )));
                }
                (id, None)
            }
            None => {
                let name = PersonName::parse(input.name.as_deref().unwrap_or(""))?;
                let hash = self
                    .new_password_hash(
                        input.password.as_deref().unwrap_or(""),
                        &[email.as_str(), name.as_str()],
                    )
                    .await?;
                (UserId::new(), Some((name, hash)))
            }
        };
        let mut tx = self.store.begin().await?;
        if let Some((name, hash)) = &new_account {
            self.insert_account_in(&mut tx, user_id, email, name, Some(hash), false)
                .await?;
        }
        if !tx
            .consume_invitation(live.workspace, inv.id, user_id, now)
            .await?
        {
            return Err(AppError::Conflict(
                "this invitation has already been used or was revoked".into(),
            ));
        }
        let mut repo = tx.workspace(live.workspace);
        let keep = match repo.role_of(user_id).await? {
            Some(r) => parse_role(&r)?.max(role),
            None => role,
        };
        repo.upsert_member(user_id, keep, now).await?;
        if new_account.is_some() {
            self.audit(
                &mut tx,
                AuditEvent {
                    workspace: None,
                    actor: Who::Person(user_id),
                    action: AuditAction::AccountCreated,
                    target: Target::Person(user_id),
                    outcome: Outcome::Success,
                    client,
                    facts: json!({"via": "invitation"}),
                },
            )
            .await?;
        }
        self.audit(
            &mut tx,
            AuditEvent {
                workspace: Some(live.workspace),
                actor: Who::Person(user_id),
                action: AuditAction::InvitationAccepted,
                target: Target::Thing("invitation", inv.id.0),
                outcome: Outcome::Success,
                client,
                facts: json!({"role": keep.as_str()}),
            },
        )
        .await?;
        tx.commit().await?;
        let login = match new_account {
            Some((name, _)) => {
                let (session, csrf) = self
                    .start_session(user_id, client, ideaweave_domain::AuthLevel::Password)
                    .await?;
                Some(crate::LoginOutcome {
                    session,
                    csrf,
                    user: UserView {
                        id: user_id,
                        email: email.to_string(),
                        name: name.into_inner(),
                    },
                })
            }
            None => None,
        };
        Ok((
            MembershipView {
                slug: live.workspace_slug,
                name: live.workspace_name,
                role: keep,
            },
            login,
        ))
    }

    // ---- API tokens ------------------------------------------------------------------------

    /// Creates an API token for the caller in this workspace. Only a signed-in session may mint
    /// tokens: a leaked token must not be able to extend its own life.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn create_token(&self, m: &Member, input: TokenInput) -> AppResult<CreatedToken> {
        m.allow(Action::ManageOwnTokens)?;
        if m.actor.scope.is_some() {
            return Err(AppError::Forbidden(
                "API tokens cannot create tokens; sign in to create one".into(),
            ));
        }
        self.require_recent_member(m)?;
        self.mint_token(
            m.workspace,
            m.actor.user,
            input,
            Who::Person(m.actor.user),
            &m.client,
        )
        .await
    }

    pub(crate) async fn mint_token(
        &self,
        ws: WorkspaceId,
        user: UserId,
        input: TokenInput,
        by: Who,
        client: &ClientInfo,
    ) -> AppResult<CreatedToken> {
        let name = TokenName::parse(&input.name)?;
        let now = self.now();
        let expires_at = match input.expires_in_days {
            Some(0) | Some(3651..) => {
                return Err(AppError::invalid(
                    "expires_in_days",
                    "must be from 1 to 3650",
                ));
            }
            Some(d) => Some(now + i64::from(d) * 86_400_000),
            None => None,
        };
        let (secret, hash) = workspace_secret(TOKEN_PREFIX, ws)?;
        let id = TokenId::new();
        let mut tx = self.store.begin().await?;
        let mut repo = tx.workspace(ws);
        let key = self.keyring.data_key(&mut repo, Some(user), now).await?;
        let sealed = key.seal_text(ws, column::API_TOKENS_NAME, id.0, name.as_str())?;
        repo.insert_token(id, user, &sealed, input.scope, &hash, now, expires_at)
            .await?;
        self.audit(&mut tx, AuditEvent {
            workspace: Some(ws),
            actor: by,
            action: AuditAction::TokenCreated,
            target: Target::Thing("token", id.0),
            outcome: Outcome::Success,
            client,
            facts: json!({"scope": input.scope.as_str(), "owner_is_actor": by == Who::Person(user)}),
        })
        .await?;
        tx.commit().await?;
        Ok(CreatedToken {
            token: TokenView {
                id,
                name: name.into_inner(),
                scope: input.scope,
                created_at: now,
                expires_at,
                revoked: false,
                last_used_on: None,
            },
            secret,
        })
    }

    /// The caller's tokens in this workspace.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn tokens(&self, m: &Member) -> AppResult<Vec<TokenView>> {
        m.allow(Action::ManageOwnTokens)?;
        let mut tx = self.store.read().await?;
        let rows = tx.workspace(m.workspace).tokens_of(m.actor.user).await?;
        let mut out = Vec::with_capacity(rows.len());
        for t in rows {
            out.push(self.token_view(&mut tx, m.workspace, t).await?);
        }
        Ok(out)
    }

    /// Revokes one of the caller's tokens; it fails from the next request on.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn revoke_token(&self, m: &Member, id: TokenId) -> AppResult<()> {
        m.allow(Action::ManageOwnTokens)?;
        let mut tx = self.store.begin().await?;
        if !tx
            .workspace(m.workspace)
            .revoke_token(m.actor.user, id, self.now())
            .await?
        {
            return Err(AppError::NotFound("token"));
        }
        self.audit_by(
            &mut tx,
            m,
            AuditAction::TokenRevoked,
            Target::Thing("token", id.0),
            json!(null),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The email that carries an invitation link.
fn invitation_mail(
    to: &Email,
    workspace: &str,
    role: Role,
    url: &str,
    valid_for: std::time::Duration,
) -> crate::platform::mail::OutgoingMail {
    let days = (valid_for.as_secs() / 86_400).max(1);
    let role = role.as_str();
    let subject = format!("You are invited to {workspace} on Ideaweave");
    let text = format!(
        "You have been invited to join the workspace \"{workspace}\" on Ideaweave as {role}.\n\n\
         Open this link to accept (it works once, for {days} day(s)):\n\n{url}\n\n\
         If you did not expect this invitation, you can ignore this email.\n"
    );
    let e = crate::platform::mail::html_escape;
    let html = format!(
        "<!doctype html><html><body style=\"font-family: sans-serif; line-height: 1.5\">\
         <p>You have been invited to join the workspace <strong>{}</strong> on Ideaweave as {}.</p>\
         <p><a href=\"{}\">Accept the invitation</a> (the link works once, for {days} day(s)).</p>\
         <p style=\"color: #555\">If you did not expect this invitation, you can ignore this email.</p>\
         </body></html>",
        e(workspace),
        e(role),
        e(url)
    );
    crate::platform::mail::OutgoingMail {
        to: to.to_string(),
        subject,
        text,
        html,
    }
}
