//! Termination of a workspace (LIF-02). An owner asks for the workspace's deletion; every
//! member is told, with the date, so they can take their data; during the grace period (14 days
//! unless the operator configured otherwise) any owner may cancel, and the owners are reminded a
//! week and a day before. Then the hourly job destroys every row, file and key of it and the
//! owners receive a deletion certificate: a statement signed with the instance's audit key of
//! what was erased and when, with the signed audit checkpoint that covers the deletion's own
//! audit event. `ideaweave verify-certificate` checks it offline.

use crate::content::image_previews::attachment_objects;
use std::collections::BTreeMap;

use ideaweave_domain::policy::Action;
use ideaweave_domain::retention::DAY_MS;
use ideaweave_domain::*;
use ideaweave_store::Tx;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::OrInternal;
use crate::platform::mail::{OutgoingMail, plain_mail, utc_date};
use crate::trust::audit::{AuditAction, AuditEvent, ClientInfo, Outcome, Target, Who};
use crate::{App, AppError, AppResult, Member};

/// The first line of every deletion certificate: what the signed statement is.
pub const CERTIFICATE_FORMAT: &str = "ideaweave.deletion-certificate/1";

/// A workspace's scheduled deletion, as its members see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TerminationView {
    /// Whether a deletion is scheduled.
    pub scheduled: bool,
    /// When it was asked for.
    pub requested_at: Option<i64>,
    /// When everything is destroyed, unless an owner cancels before.
    pub due_at: Option<i64>,
    /// The grace period this instance gives, in days.
    pub grace_days: u32,
}

/// The confirmation of a deletion request.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TerminationInput {
    /// The workspace's slug, typed again.
    pub confirm: String,
}

/// What one run of the termination job did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TerminationRound {
    /// Reminder emails queued.
    pub reminders: u64,
    /// Workspaces destroyed.
    pub deleted: u64,
    /// Certificates issued.
    pub certificates: u64,
}

/// What a certificate states, signed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateFacts {
    pub workspace_id: uuid::Uuid,
    pub slug: String,
    pub requested_at: i64,
    pub due_at: i64,
    pub deleted_at: i64,
    /// Rows destroyed, by kind.
    pub rows: BTreeMap<String, i64>,
    /// Files removed from the file store.
    pub files: u64,
    /// Every key of the workspace (its KEK versions and data keys) was crypto-shredded: listed
    /// in the shred ledger, then deleted.
    pub keys_shredded: bool,
    /// The index of the `workspace.deleted` event in the instance's audit log.
    pub audit_event: u64,
}

/// A certificate's signed body (the second line of the signed statement).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    #[serde(flatten)]
    pub facts: CertificateFacts,
    /// The signed audit checkpoint that covers the deletion's event.
    pub audit_checkpoint: String,
    /// The instance's address.
    pub instance: String,
    /// The key that signed this certificate and the checkpoint (the instance's audit key, as
    /// published at `GET /api/v1/audit/key`).
    pub verifier_key: String,
    pub issued_at: i64,
}

impl App {
    /// The workspace's scheduled deletion (every member: they are told so they can take their
    /// data).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn termination(&self, m: &Member) -> AppResult<TerminationView> {
        m.allow(Action::ReadWorkspace)?;
        let mut tx = self.store.read().await?;
        let s = tx.workspace(m.workspace).deletion_schedule().await?;
        Ok(TerminationView {
            scheduled: s.is_some(),
            requested_at: s.as_ref().map(|s| s.requested_at),
            due_at: s.as_ref().map(|s| s.due_at),
            grace_days: self.settings.termination_grace_days,
        })
    }

    /// Schedules the workspace's deletion (owners, signed-in sessions; `confirm` is the slug).
    /// Every member is emailed the date.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn request_termination(
        &self,
        m: &Member,
        input: TerminationInput,
    ) -> AppResult<TerminationView> {
        m.allow(Action::TerminateWorkspace)?;
        self.require_recent_member(m)?;
        if input.confirm.trim() != m.slug {
            return Err(AppError::invalid(
                "confirm",
                "type the workspace's short name exactly to confirm its deletion",
            ));
        }
        let now = self.now();
        let due = now + i64::from(self.settings.termination_grace_days) * DAY_MS;
        let mut tx = self.store.begin().await?;
        if !tx
            .workspace(m.workspace)
            .schedule_deletion(now, due, m.actor.user)
            .await?
        {
            return Err(AppError::Conflict(
                "the workspace's deletion is already scheduled".into(),
            ));
        }
        let name = self.workspace_display_name(&mut tx, m.workspace).await?;
        for to in self.member_addresses(&mut tx, m.workspace, &[]).await? {
            let text = format!(
                "An owner of the workspace {name} asked for its deletion. On {} everything in it — ideas, \
                 comments, votes, files, members — will be destroyed for good.\n\nTo keep what you contributed, \
                 download your data from your account page before then: {}/account\n\nAn owner can still cancel the \
                 deletion until then.",
                utc_date(due),
                self.settings.public_url
            );
            self.queue_mail(
                &mut tx,
                m.workspace,
                &plain_mail(
                    &to,
                    format!("{name} will be deleted on {}", utc_date(due)),
                    text,
                ),
            )
            .await?;
        }
        self.audit_by(
            &mut tx,
            m,
            AuditAction::WorkspaceDeletionRequested,
            Target::Scope,
            json!({"due_at": due}),
        )
        .await?;
        tx.commit().await?;
        self.termination(m).await
    }

    /// Cancels the scheduled deletion (owners, signed-in sessions); the owners are told.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn cancel_termination(&self, m: &Member) -> AppResult<TerminationView> {
        m.allow(Action::TerminateWorkspace)?;
        let mut tx = self.store.begin().await?;
        if !tx
            .workspace(m.workspace)
            .cancel_deletion(self.now())
            .await?
        {
            return Err(AppError::Conflict(
                "no deletion of this workspace is scheduled, or it is under way already".into(),
            ));
        }
        let name = self.workspace_display_name(&mut tx, m.workspace).await?;
        for to in self
            .member_addresses(&mut tx, m.workspace, &[Role::Owner])
            .await?
        {
            self.queue_mail(
                &mut tx,
                m.workspace,
                &plain_mail(
                    &to,
                    format!("The deletion of {name} was cancelled"),
                    format!("An owner cancelled the scheduled deletion of the workspace {name}. Nothing will be deleted."),
                ),
            )
            .await?;
        }
        self.audit_by(
            &mut tx,
            m,
            AuditAction::WorkspaceDeletionCancelled,
            Target::Scope,
            json!(null),
        )
        .await?;
        tx.commit().await?;
        self.termination(m).await
    }

    /// The termination job (hourly): reminds owners of deletions a week and a day away,
    /// destroys the workspaces whose grace period ended, and issues their certificates.
    #[tracing::instrument(skip_all)]
    pub async fn run_terminations(&self) -> AppResult<TerminationRound> {
        let mut round = TerminationRound::default();
        let now = self.now();
        let scheduled = self.store.read().await?.scheduled_deletions().await?;
        for s in scheduled {
            if s.due_at <= now {
                // One workspace that fails must not hold back the others' deletions.
                match self.destroy_workspace(s.id).await {
                    Ok(true) => round.deleted += 1,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::error!(workspace = %s.id.0, error = %e, "a workspace due for deletion could not be deleted; retried next run");
                    }
                }
                continue;
            }
            let step = if s.due_at - now <= DAY_MS {
                2
            } else if s.due_at - now <= 7 * DAY_MS {
                1
            } else {
                0
            };
            if step <= s.reminders {
                continue;
            }
            let mut tx = self.store.begin().await?;
            if tx.workspace(s.id).set_deletion_reminders(step).await? {
                let name = self.workspace_display_name(&mut tx, s.id).await?;
                for to in self.member_addresses(&mut tx, s.id, &[Role::Owner]).await? {
                    self.queue_mail(
                        &mut tx,
                        s.id,
                        &plain_mail(
                            &to,
                            format!("Reminder: {name} will be deleted on {}", utc_date(s.due_at)),
                            format!(
                                "The workspace {name} will be destroyed for good on {}. To keep it, cancel the deletion \
                                 in its settings: {}/w/{}/settings#termination\n\nTo take its data elsewhere, export it there first.",
                                utc_date(s.due_at),
                                self.settings.public_url,
                                s.slug
                            ),
                        ),
                    )
                    .await?;
                    round.reminders += 1;
                }
            }
            tx.commit().await?;
        }
        round.certificates = self.issue_certificates().await?;
        Ok(round)
    }

    /// Destroys a workspace: its audit event first (while its keys exist), then every row, the
    /// keys (shred ledger first), its files; the owners' addresses wait, sealed with an
    /// instance key, for the certificate. Returns whether it was due.
    async fn destroy_workspace(&self, ws: WorkspaceId) -> AppResult<bool> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        // Locked: a cancellation either committed before (nothing is due) or waits and then
        // finds nothing to cancel.
        let Some(schedule) = tx.workspace(ws).lock_due_deletion(now).await? else {
            return Ok(false);
        };
        let slug = tx
            .workspace_by_id(ws)
            .await?
            .ok_or(AppError::NotFound("workspace"))?
            .slug;
        let owners = self.member_addresses(&mut tx, ws, &[Role::Owner]).await?;
        let mut repo = tx.workspace(ws);
        let rows = repo.row_counts().await?;
        let objects = repo.stored_object_ids().await?;
        let event = self
            .audit(
                &mut tx,
                AuditEvent {
                    workspace: Some(ws),
                    actor: Who::Operator,
                    action: AuditAction::WorkspaceDeleted,
                    target: Target::Scope,
                    outcome: Outcome::Success,
                    client: &ClientInfo::console(),
                    facts: json!({"rows": rows, "files": objects.len()}),
                },
            )
            .await?;
        let search_objects = self.search_objects_of(&mut tx, ws).await;
        tx.workspace(ws).delete_all_rows().await?;
        self.keyring.shred_workspace(&mut tx, ws, now).await?;
        let facts = CertificateFacts {
            workspace_id: ws.0,
            slug: slug.clone(),
            requested_at: schedule.requested_at,
            due_at: schedule.due_at,
            deleted_at: now,
            rows,
            files: objects.len() as u64,
            keys_shredded: true,
            audit_event: event,
        };
        let facts_json =
            serde_json::to_string(&facts).map_err(|e| AppError::internal(e.to_string()))?;
        let notify = serde_json::to_vec(&owners).map_err(|e| AppError::internal(e.to_string()))?;
        let sealed_notify = self
            .keyring
            .account_mail_key()?
            .seal(&certificate_place(ws.0), &notify)?;
        tx.insert_certificate_facts(ws, &slug, &facts_json, &sealed_notify)
            .await?;
        tx.commit().await?;
        self.keyring.forget_workspace(ws);
        self.forget_search_index(ws);
        self.delete_objects(ws, &search_objects).await;
        for id in &objects {
            for key in attachment_objects(&format!("{}/{id}", ws.0)) {
                if let Err(e) = self.files.delete(&key).await {
                    tracing::warn!(workspace = %ws.0, object = %id, error = %e, "a file of a deleted workspace could not be removed; its keys are destroyed");
                }
            }
        }
        if let Err(e) = self.issue_certificate_for(ws.0).await {
            // The deletion stands; the next run issues the certificate.
            tracing::error!(workspace = %ws.0, error = %e, "the deletion certificate could not be issued yet");
        }
        Ok(true)
    }

    /// Issues the certificates still pending (a crash after a deletion); returns how many.
    async fn issue_certificates(&self) -> AppResult<u64> {
        let pending = self.store.read().await?.pending_certificates().await?;
        let mut n = 0;
        for p in pending {
            if self.issue_certificate_for(p.workspace_id).await?.is_some() {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Signs the certificate of a deleted workspace: a checkpoint covering its deletion event,
    /// then the statement. Returns it, or `None` when it was issued already.
    async fn issue_certificate_for(&self, ws: uuid::Uuid) -> AppResult<Option<String>> {
        let pending = self.store.read().await?.pending_certificates().await?;
        let Some(row) = pending.into_iter().find(|p| p.workspace_id == ws) else {
            return Ok(None);
        };
        let facts: CertificateFacts = serde_json::from_str(&row.facts)
            .map_err(|e| AppError::Integrity(format!("stored deletion facts: {e}")))?;
        let checkpoint = self.sign_audit_checkpoint().await?;
        let signer = self.keyring.audit_signer()?;
        let now = self.now();
        let cert = Certificate {
            facts,
            audit_checkpoint: checkpoint,
            instance: self.settings.public_url.clone(),
            verifier_key: signer.verifier().to_string(),
            issued_at: now,
        };
        let line = serde_json::to_string(&cert).map_err(|e| AppError::internal(e.to_string()))?;
        let note = signer
            .sign_statement(&format!("{CERTIFICATE_FORMAT}\n{line}\n"))
            .or_internal("signing the certificate")?;
        let owners: Vec<String> = match &row.notify {
            Some(sealed) => {
                let mut tx = self.store.read().await?;
                match self
                    .keyring
                    .open(&mut tx, &certificate_place(ws), sealed)
                    .await?
                {
                    Some(bytes) => serde_json::from_slice(&bytes)
                        .map_err(|e| AppError::Integrity(format!("certificate recipients: {e}")))?,
                    None => Vec::new(),
                }
            }
            None => Vec::new(),
        };
        let mut tx = self.store.begin().await?;
        if !tx.complete_certificate(ws, &note, now).await? {
            // Another node issued and mailed it.
            return Ok(None);
        }
        for to in owners {
            self.queue_account_mail(&mut tx, &certificate_mail(&to, &row.slug, &note))
                .await?;
        }
        tx.commit().await?;
        Ok(Some(note))
    }

    /// The certificates of deleted workspaces called `slug`, newest first (the operator hands
    /// them out again: `ideaweave admin certificate`).
    #[tracing::instrument(skip_all)]
    pub async fn deletion_certificates(&self, slug: &str) -> AppResult<Vec<String>> {
        Ok(self
            .store
            .read()
            .await?
            .certificates_for(slug)
            .await?
            .into_iter()
            .filter_map(|c| c.certificate)
            .collect())
    }

    /// The addresses of the workspace's members with one of `roles` (every member when empty);
    /// erased addresses are left out.
    pub(crate) async fn member_addresses(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        roles: &[Role],
    ) -> AppResult<Vec<String>> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = tx.workspace(ws).members(cursor, 200).await?;
            let Some(last) = page.last() else { break };
            cursor = Some(last.user_id.0);
            for mb in page {
                if !roles.is_empty() && !roles.contains(&crate::parse_role(&mb.role)?) {
                    continue;
                }
                let email = self
                    .open_text(
                        tx,
                        &crate::platform::sealed::account(
                            crate::platform::sealed::column::USERS_EMAIL,
                            mb.user_id,
                        ),
                        &mb.email,
                    )
                    .await?;
                if email != crate::platform::sealed::ERASED {
                    out.push(email);
                }
            }
        }
        Ok(out)
    }
}

/// Where the owners' addresses of a pending certificate are sealed (instance level).
fn certificate_place(ws: uuid::Uuid) -> ideaweave_crypto::Place<'static> {
    ideaweave_crypto::Place {
        workspace: crate::platform::keyring::ACCOUNT_SCOPE,
        table: "deletion_certificates",
        column: "notify",
        row: ws,
    }
}

fn certificate_mail(to: &str, slug: &str, certificate: &str) -> OutgoingMail {
    plain_mail(
        to,
        format!("Deletion certificate of the workspace {slug}"),
        format!(
            "The workspace {slug} and everything in it were destroyed as you asked: every row, file and key. \
             Below is the deletion certificate, signed with this instance's key. Keep it: save the text between \
             the lines as a file and check it with `ideaweave verify-certificate FILE`.\n\n-----\n{certificate}-----"
        ),
    )
}

/// What `verify-certificate` found.
#[derive(Debug, Clone)]
pub struct VerifiedCertificate {
    pub certificate: Certificate,
    /// The size of the audit checkpoint it carries.
    pub checkpoint_size: u64,
}

/// Checks a deletion certificate offline: the statement's signature by `key` (or, when `None`,
/// by the key the certificate names, which the caller must then compare with the instance's
/// published key), that it is a certificate, and that its audit checkpoint is signed by the same
/// key and covers the deletion's event.
pub fn verify_certificate(text: &str, key: Option<&str>) -> Result<VerifiedCertificate, String> {
    // Saved from an email client, it may have Windows line endings.
    let normalised = text.replace("\r\n", "\n");
    let text = normalised.as_str();
    let (first, rest) = text
        .split_once('\n')
        .ok_or("not a deletion certificate: too short")?;
    if first != CERTIFICATE_FORMAT {
        return Err(format!(
            "not a deletion certificate: it starts with {first:?}, not {CERTIFICATE_FORMAT}"
        ));
    }
    let line = rest
        .lines()
        .next()
        .ok_or("not a deletion certificate: no body")?;
    let claimed: Certificate = serde_json::from_str(line)
        .map_err(|e| format!("the certificate's body is not valid: {e}"))?;
    let key_text = key.unwrap_or(&claimed.verifier_key);
    let verifier =
        ideaweave_audit::VerifierKey::parse(key_text).map_err(|e| format!("the key: {e}"))?;
    let body = verifier
        .verify_statement(text)
        .map_err(|e| format!("the signature does not verify with {key_text}: {e}"))?;
    if !body.starts_with(&format!("{CERTIFICATE_FORMAT}\n{line}\n")) {
        return Err("the signed text is not the certificate shown".into());
    }
    let cp = verifier
        .verify(&claimed.audit_checkpoint)
        .map_err(|e| format!("the audit checkpoint inside does not verify: {e}"))?;
    if cp.size <= claimed.facts.audit_event {
        return Err(format!(
            "the audit checkpoint (size {}) does not cover the deletion's event {}",
            cp.size, claimed.facts.audit_event
        ));
    }
    Ok(VerifiedCertificate {
        checkpoint_size: cp.size,
        certificate: claimed,
    })
}
