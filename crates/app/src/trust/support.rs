//! Support access (SUP-01): the operator has no access to a workspace's content until one of
//! its admins invites support — for a scope (`read` or `manage`, see
//! [`ideaweave_domain::support`]) and at most a week — and loses it when the invitation
//! expires or an admin revokes it, on the very next request. An operator account (which always
//! signs in with two factors) then enters the workspace as an admin narrowed to that scope, and
//! every request it makes there is recorded in the workspace's audit trail, reads included.

use ideaweave_domain::policy::Action;
use ideaweave_domain::{MAX_SUPPORT_HOURS, Role, SupportGrantId, SupportScope, UserId};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::identity::auth::Principal;
use crate::platform::sealed::at;
use crate::platform::sealed::column;
use crate::trust::audit::{AuditAction, AuditEvent, Outcome, Target, Who};
use crate::{App, AppError, AppResult, Member};

/// Longest reason an admin may give.
const MAX_REASON_CHARS: usize = 1000;

/// The invitation a member acts under, when it is the operator's support staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupportAccess {
    /// The invitation.
    pub grant: uuid::Uuid,
    /// What it allows.
    pub scope: SupportScope,
}

/// An admin's invitation of support.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupportGrantInput {
    /// `read` (look, change nothing) or `manage` (also fix settings, spaces and content).
    pub scope: SupportScope,
    /// How long it lasts, 1 to 168 hours.
    #[schema(minimum = 1, maximum = 168)]
    pub hours: u32,
    /// What support is asked to look at (shown to support; sealed).
    #[serde(default)]
    pub reason: Option<String>,
}

/// A support invitation, as admins see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SupportGrantView {
    pub id: SupportGrantId,
    pub scope: SupportScope,
    pub reason: Option<String>,
    /// Who gave it (a former member after their erasure).
    pub created_by: UserId,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    /// It lets support in now.
    pub live: bool,
}

/// A live invitation, as the operator's support staff see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SupportInvitationView {
    pub workspace: String,
    pub workspace_name: String,
    pub scope: SupportScope,
    pub expires_at: i64,
    /// What the admins ask support to look at.
    pub reason: Option<String>,
}

impl Member {
    /// Refuses the operator's support staff: for what an invitation never covers whatever its
    /// scope (who gets in, data-subject requests, retention, support access itself).
    pub(crate) fn refuse_support(&self) -> AppResult<()> {
        if self.support.is_some() {
            return Err(AppError::Forbidden(
                "support access does not cover this; ask a workspace admin".into(),
            ));
        }
        Ok(())
    }
}

impl App {
    /// Invites the operator's support staff into the workspace (admins, after a recent
    /// re-authentication). The operators are emailed the workspace, scope and end.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn grant_support(
        &self,
        m: &Member,
        input: SupportGrantInput,
    ) -> AppResult<SupportGrantView> {
        m.allow(Action::ManageSettings)?;
        m.refuse_support()?;
        self.require_recent_member(m)?;
        if !(1..=MAX_SUPPORT_HOURS).contains(&input.hours) {
            return Err(AppError::invalid(
                "hours",
                format!("must be 1 to {MAX_SUPPORT_HOURS} (a week); invite again for longer"),
            ));
        }
        let reason = input
            .reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        if reason
            .as_ref()
            .is_some_and(|r| r.chars().count() > MAX_REASON_CHARS)
        {
            return Err(AppError::invalid(
                "reason",
                format!("must be at most {MAX_REASON_CHARS} characters"),
            ));
        }
        let now = self.now();
        let id = uuid::Uuid::new_v4();
        let expires_at = now + i64::from(input.hours) * 3_600_000;
        let mut tx = self.store.begin().await?;
        // One invitation at a time: a new one (narrower or wider) replaces any live one, so
        // the scope in force is always the one given last.
        let replaced = tx
            .workspace(m.workspace)
            .revoke_live_support_grants(m.actor.user, now)
            .await?;
        let sealed = match &reason {
            Some(r) => {
                let mut repo = tx.workspace(m.workspace);
                let key = self.keyring.data_key(&mut repo, None, now).await?;
                Some(key.seal_text(m.workspace, column::SUPPORT_GRANTS_REASON, id, r)?)
            }
            None => None,
        };
        tx.workspace(m.workspace)
            .insert_support_grant(ideaweave_store::NewSupportGrant {
                id,
                scope: input.scope.as_str(),
                reason: sealed.as_deref(),
                created_by: m.actor.user,
                created_at: now,
                expires_at,
            })
            .await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::SupportGranted,
            Target::Scope,
            json!({"grant": id, "scope": input.scope.as_str(), "hours": input.hours, "replaced": replaced}),
        )
        .await?;
        tx.commit().await?;
        let link = format!(
            "{}/w/{}",
            self.settings.public_url.trim_end_matches('/'),
            m.slug
        );
        self.queue_operator_notice(
            &[],
            &format!("Support access to the workspace {}", m.slug),
            &format!(
                "An admin of the workspace {slug} invited support ({scope}) for {hours} hours.\n\n\
                 Sign in with your operator account and open {link}\n\
                 What they ask you to look at is in your list of invitations \
                 (GET /api/v1/support/invitations), not in this email.\n\n\
                 Every request you make there is recorded in the workspace's audit trail.",
                slug = m.slug,
                scope = input.scope.as_str(),
                hours = input.hours,
            ),
        )
        .await?;
        Ok(SupportGrantView {
            id: SupportGrantId(id),
            scope: input.scope,
            reason,
            created_by: m.actor.user,
            created_at: now,
            expires_at,
            revoked_at: None,
            live: true,
        })
    }

    /// The workspace's support invitations, newest first (admins).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn support_grants(&self, m: &Member) -> AppResult<Vec<SupportGrantView>> {
        if m.role() < Role::Admin {
            return Err(AppError::Forbidden(
                "support access is for the workspace's admins".into(),
            ));
        }
        m.refuse_support()?;
        let now = self.now();
        let mut tx = self.store.read().await?;
        let rows = tx.workspace(m.workspace).support_grants().await?;
        let mut out = Vec::with_capacity(rows.len());
        for g in rows {
            let reason = match &g.reason {
                Some(sealed) => {
                    self.keyring
                        .open_text(
                            &mut tx,
                            &at(m.workspace, column::SUPPORT_GRANTS_REASON, g.id),
                            sealed,
                        )
                        .await?
                }
                None => None,
            };
            out.push(SupportGrantView {
                id: SupportGrantId(g.id),
                scope: g.scope.parse().map_err(AppError::Integrity)?,
                reason,
                created_by: UserId(g.created_by),
                created_at: g.created_at,
                expires_at: g.expires_at,
                revoked_at: g.revoked_at,
                live: g.revoked_at.is_none() && g.expires_at > now,
            });
        }
        Ok(out)
    }

    /// Ends a live support invitation now (admins); support is out on its next request.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn revoke_support(
        &self,
        m: &Member,
        SupportGrantId(id): SupportGrantId,
    ) -> AppResult<()> {
        m.allow(Action::ManageSettings)?;
        m.refuse_support()?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if !tx
            .workspace(m.workspace)
            .revoke_support_grant(id, m.actor.user, now)
            .await?
        {
            return Err(AppError::NotFound("support invitation"));
        }
        self.audit_by(
            &mut tx,
            m,
            AuditAction::SupportRevoked,
            Target::Scope,
            json!({"grant": id}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The workspaces whose admins invite support now (operator accounts only).
    #[tracing::instrument(skip_all)]
    pub async fn support_invitations(
        &self,
        principal: &Principal,
    ) -> AppResult<Vec<SupportInvitationView>> {
        if !principal.session.as_ref().is_some_and(|s| s.operator) {
            return Err(AppError::Forbidden(
                "support invitations are for the operator's accounts".into(),
            ));
        }
        let mut tx = self.store.read().await?;
        let rows = tx.live_support_grants(self.now()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for g in rows {
            let reason = match &g.reason {
                Some(sealed) => {
                    self.keyring
                        .open_text(
                            &mut tx,
                            &at(g.workspace.id, column::SUPPORT_GRANTS_REASON, g.grant_id),
                            sealed,
                        )
                        .await?
                }
                None => None,
            };
            out.push(SupportInvitationView {
                reason,
                workspace_name: self
                    .workspace_name(&mut tx, g.workspace.id, &g.workspace.name)
                    .await?,
                workspace: g.workspace.slug,
                scope: g.scope.parse().map_err(AppError::Integrity)?,
                expires_at: g.expires_at,
            });
        }
        Ok(out)
    }

    /// The member an operator's session is in `slug` under a live invitation, if there is one;
    /// the request is recorded in the workspace's audit trail (`request`: its method and route).
    pub(crate) async fn support_member(
        &self,
        principal: &Principal,
        slug: &str,
        request: Option<&str>,
    ) -> AppResult<Option<(Member, ideaweave_store::records::WorkspaceRecord)>> {
        if !principal.session.as_ref().is_some_and(|s| s.operator) {
            return Ok(None);
        }
        let now = self.now();
        let found = {
            let mut tx = self.store.read().await?;
            match tx.live_support_grant(slug, now).await? {
                Some(g) => Ok(g),
                None => Err(tx.workspace_by_slug(slug).await?),
            }
        };
        let g = match found {
            Ok(g) => g,
            Err(None) => return Ok(None),
            Err(Some(ws)) => {
                // An operator trying a workspace without a live invitation (one that expired or
                // was revoked, or never was): recorded there, and refused as a stranger.
                let mut tx = self.store.begin().await?;
                self.audit(
                    &mut tx,
                    AuditEvent {
                        workspace: Some(ws.id),
                        actor: Who::Person(principal.user),
                        action: AuditAction::SupportAccessed,
                        target: Target::Scope,
                        outcome: Outcome::Denied,
                        client: &principal.client,
                        facts: json!({"grant": null, "request": request}),
                    },
                )
                .await?;
                tx.commit().await?;
                return Ok(None);
            }
        };
        let scope: SupportScope = g.scope.parse().map_err(AppError::Integrity)?;
        let mut tx = self.store.begin().await?;
        // Operators always need two factors; a workspace asking for more for admins gets it
        // from support too. A refusal is recorded like the rest.
        let (member_min, admin_min) = tx
            .credential_policy(g.workspace.id)
            .await?
            .unwrap_or_else(|| ("password".into(), "password".into()));
        let strong_enough = crate::identity::auth::check_credential_policy(
            principal,
            Role::Admin,
            &member_min,
            &admin_min,
        );
        let member = Member {
            workspace: g.workspace.id,
            slug: g.workspace.slug.clone(),
            actor: ideaweave_domain::policy::Actor {
                user: principal.user,
                role: Role::Admin,
                scope: None,
            },
            client: principal.client.clone(),
            reauth_at: principal.session.as_ref().map(|s| s.reauth_at),
            support: Some(SupportAccess {
                grant: g.grant_id,
                scope,
            }),
        };
        self.audit(
            &mut tx,
            AuditEvent {
                workspace: Some(g.workspace.id),
                actor: Who::Person(principal.user),
                action: AuditAction::SupportAccessed,
                target: Target::Scope,
                outcome: if strong_enough.is_ok() {
                    Outcome::Success
                } else {
                    Outcome::Denied
                },
                client: &principal.client,
                facts: json!({"grant": g.grant_id, "scope": scope.as_str(), "request": request}),
            },
        )
        .await?;
        tx.commit().await?;
        strong_enough?;
        Ok(Some((member, g.workspace)))
    }
}
