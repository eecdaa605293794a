//! Retention (LIF-03): each workspace's periods, and the job that purges what outlived them.
//!
//! Deleted ideas and comments stay restorable for the workspace's `deleted_days`; then they are
//! removed for good with their files, links, votes and ratings. Invitations that expired or
//! were revoked and were never accepted go after `invitation_days`. Activity data (where
//! requests came from) is kept with the audit trail, which is append-only; it expires by
//! destroying the key of each day's activity after `activity_days` (see [`crate::trust::audit`]).
//! Every run that removes anything leaves a `retention.applied` event with the counts.

use ideaweave_domain::RetentionPolicy;
use ideaweave_domain::policy::Action;
use ideaweave_domain::retention::DAY_MS;
use ideaweave_domain::*;
use ideaweave_store::DeletedComment;
use serde_json::json;

use crate::content::files::storage_key;
use crate::content::image_previews::attachment_objects;
use crate::trust::audit::{AuditAction, AuditEvent, ClientInfo, Outcome, Target, Who};
use crate::{App, AppResult, Member};

/// How many rows of each kind one transaction purges, so that a large backlog neither holds
/// the database's write lock for long nor builds a huge transaction.
const PURGE_BATCH: u32 = 200;

/// What one run of the retention job removed, over all workspaces.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RetentionRound {
    /// Workspaces looked at.
    pub workspaces: usize,
    /// Deleted ideas removed for good.
    pub ideas: u64,
    /// Deleted comments removed for good.
    pub comments: u64,
    /// Files removed with them.
    pub files: u64,
    /// Stale invitations removed.
    pub invitations: u64,
    /// Days of workspace activity data whose key was destroyed.
    pub activity_days: u64,
    /// Days of instance-level activity data (sign-ins…) whose key was destroyed.
    pub instance_activity_days: u64,
}

impl RetentionRound {
    fn removed_anything(&self) -> bool {
        self.ideas + self.comments + self.files + self.invitations + self.activity_days > 0
    }
}

impl App {
    /// The workspace's retention periods (the defaults unless an admin changed them). Every
    /// member may read them: they say how long the workspace keeps their data.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn retention_policy(&self, m: &Member) -> AppResult<RetentionPolicy> {
        m.allow(Action::ReadWorkspace)?;
        let mut tx = self.store.read().await?;
        stored_policy(&mut tx, m.workspace).await
    }

    /// Sets the workspace's retention periods (admins), recorded as `retention.changed` with the
    /// periods before and after. Setting what is already set changes and records nothing.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn set_retention_policy(
        &self,
        m: &Member,
        p: RetentionPolicy,
    ) -> AppResult<RetentionPolicy> {
        m.allow(Action::ManageSettings)?;
        m.refuse_support()?;
        let p = p.validated()?;
        let mut tx = self.store.begin().await?;
        let before = stored_policy(&mut tx, m.workspace).await?;
        if before == p {
            return Ok(p);
        }
        tx.workspace(m.workspace)
            .set_retention_policy(
                i64::from(p.activity_days),
                i64::from(p.deleted_days),
                i64::from(p.invitation_days),
                self.now(),
            )
            .await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::RetentionChanged,
            Target::Thing("workspace", m.workspace.0),
            json!({"from": before, "to": p}),
        )
        .await?;
        tx.commit().await?;
        Ok(p)
    }

    /// Applies every workspace's policy, and the instance's activity period, at the clock's
    /// current time; the scheduled job's work.
    #[tracing::instrument(skip_all)]
    pub async fn enforce_retention(&self) -> AppResult<RetentionRound> {
        let workspaces = self.store.read().await?.list_workspaces().await?;
        let mut total = RetentionRound {
            workspaces: workspaces.len(),
            ..RetentionRound::default()
        };
        let now = self.now();
        let before = now.saturating_sub(i64::from(self.settings.instance_activity_days) * DAY_MS);
        let mut tx = self.store.begin().await?;
        total.instance_activity_days = self
            .keyring
            .shred_instance_activity_before(&mut tx, before.div_euclid(DAY_MS), now)
            .await?;
        // Ended sessions, stale half-done sign-ins and old failure counters (IDN-04) go too.
        tx.purge_sessions(now, self.idle_cutoff(now)).await?;
        tx.purge_sign_in_challenges(now).await?;
        self.purge_ceremonies(&mut tx).await?;
        self.purge_sso_logins(&mut tx).await?;
        tx.purge_throttles(now - crate::identity::throttle::FORGET_AFTER_MS, now)
            .await?;
        tx.purge_regulars(now - crate::identity::throttle::REGULARS_FOR_MS)
            .await?;
        // What admins asked support to look at is kept a month after the invitation ended.
        tx.forget_support_reasons(now - 30 * DAY_MS).await?;
        tx.commit().await?;
        for w in workspaces {
            let r = self.enforce_retention_in(w.id).await?;
            total.ideas += r.ideas;
            total.comments += r.comments;
            total.files += r.files;
            total.invitations += r.invitations;
            total.activity_days += r.activity_days;
        }
        Ok(total)
    }

    /// Applies one workspace's policy, in batches; records what was removed.
    async fn enforce_retention_in(&self, ws: WorkspaceId) -> AppResult<RetentionRound> {
        let now = self.now();
        let policy = {
            let mut tx = self.store.read().await?;
            stored_policy(&mut tx, ws).await?
        };
        let cut = policy.cutoffs(now);
        let mut round = RetentionRound::default();
        // Ideas first: purging an idea takes its comments with it.
        loop {
            let mut tx = self.store.begin().await?;
            let mut repo = tx.workspace(ws);
            let ideas = repo
                .ideas_deleted_before(cut.deleted_before, PURGE_BATCH)
                .await?;
            let mut files = Vec::new();
            for &idea in &ideas {
                files.extend(repo.attachments(idea).await?.into_iter().map(|a| a.id));
                repo.purge_idea(idea, now).await?;
            }
            tx.commit().await?;
            round.ideas += ideas.len() as u64;
            round.files += self.remove_files(ws, &files).await;
            if (ideas.len() as u32) < PURGE_BATCH {
                break;
            }
        }
        loop {
            let mut tx = self.store.begin().await?;
            let mut repo = tx.workspace(ws);
            let comments: Vec<DeletedComment> = repo
                .comments_deleted_before(cut.deleted_before, PURGE_BATCH)
                .await?;
            let mut files = Vec::new();
            for c in &comments {
                files.extend(repo.attachment_ids_of_comment(c.id).await?);
                repo.purge_comment(c).await?;
            }
            tx.commit().await?;
            round.comments += comments.len() as u64;
            round.files += self.remove_files(ws, &files).await;
            if (comments.len() as u32) < PURGE_BATCH {
                break;
            }
        }
        // Export archives wait for their download a fixed time (LIF-01).
        let mut tx = self.store.begin().await?;
        let stale = tx
            .workspace(ws)
            .delete_export_jobs(Some(
                now - crate::transfer::export::EXPORT_KEEP_DAYS * DAY_MS,
            ))
            .await?;
        tx.commit().await?;
        self.remove_export_archives(ws, &stale).await;
        let mut tx = self.store.begin().await?;
        round.invitations = tx
            .workspace(ws)
            .delete_invitations_stale_before(cut.invitations_before)
            .await?;
        // The days members and tokens were last active are activity data too.
        tx.workspace(ws)
            .forget_activity_before(cut.activity_before)
            .await?;
        // A day's key goes once the whole day is older than the activity period.
        round.activity_days = self
            .keyring
            .shred_activity_before(
                &mut tx.workspace(ws),
                cut.activity_before.div_euclid(DAY_MS),
                now,
            )
            .await?;
        if round.removed_anything() {
            self.audit(
                &mut tx,
                AuditEvent {
                    workspace: Some(ws),
                    actor: Who::Operator,
                    action: AuditAction::RetentionApplied,
                    target: Target::Thing("workspace", ws.0),
                    outcome: Outcome::Success,
                    client: &ClientInfo::console(),
                    facts: json!({
                        "policy": policy,
                        "ideas": round.ideas,
                        "comments": round.comments,
                        "files": round.files,
                        "invitations": round.invitations,
                        "activity_days": round.activity_days,
                    }),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(round)
    }

    /// Removes the files of purged or deleted attachments, after their rows are gone so that
    /// nothing points at a missing file. A file that cannot be removed is logged and not
    /// counted; its content stays sealed with keys of the workspace, unreferenced.
    pub(crate) async fn remove_files(&self, ws: WorkspaceId, ids: &[AttachmentId]) -> u64 {
        let mut removed = 0;
        for &id in ids {
            let [file, preview] = attachment_objects(&storage_key(ws, id));
            if let Err(e) = self.files.delete(&preview).await {
                tracing::warn!(error = %e, attachment = %id.0, "a purged preview could not be removed")
            }
            match self.files.delete(&file).await {
                Ok(()) => removed += 1,
                Err(e) => {
                    tracing::warn!(error = %e, attachment = %id.0, "a purged file could not be removed")
                }
            }
        }
        removed
    }
}

/// The stored policy, or the defaults.
pub(crate) async fn stored_policy(
    tx: &mut ideaweave_store::Tx,
    ws: WorkspaceId,
) -> AppResult<RetentionPolicy> {
    Ok(match tx.workspace(ws).retention_policy().await? {
        None => RetentionPolicy::default(),
        Some((a, d, i)) => RetentionPolicy {
            activity_days: u32::try_from(a).unwrap_or(RetentionPolicy::default().activity_days),
            deleted_days: u32::try_from(d).unwrap_or(RetentionPolicy::default().deleted_days),
            invitation_days: u32::try_from(i).unwrap_or(RetentionPolicy::default().invitation_days),
        },
    })
}
