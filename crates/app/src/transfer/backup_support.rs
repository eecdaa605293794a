//! What backups need from the application (BAK-04, BAK-05): the same application over a
//! restored copy (to verify its audit log), the operators' addresses for alerts, and the
//! record of backups and restores in the audit log.

use std::sync::Arc;

use ideaweave_store::{FileStore, Store};

use crate::platform::mail::plain_mail;
use crate::trust::audit::{AuditAction, AuditEvent, ClientInfo, Outcome, Target, Who};
use crate::{App, AppResult};

impl App {
    /// This application over another database (a backup restored into a scratch location),
    /// with the same keys, files and clock.
    pub fn with_store(&self, store: Store) -> App {
        App {
            store,
            files: self.files.clone(),
            clock: self.clock.clone(),
            // A copy's audit log is its own: it is not checked against this data directory's
            // anchor (a backup is older than the anchor by nature).
            settings: std::sync::Arc::new(crate::AppSettings {
                audit_anchor_file: None,
                ..(*self.settings).clone()
            }),
            keyring: self.keyring.clone(),
            webauthn: self.webauthn.clone(),
            discovery: self.discovery.clone(),
            // A copy opens its own indexes: its generations are not this instance's.
            search: std::sync::Arc::new(crate::content::search::sealed_index::SearchIndexes::new(
                self.settings.search_cache_bytes,
            )),
        }
    }

    /// The file store (a backup copies what the rows point at, a restore puts it back).
    pub fn files(&self) -> &Arc<dyn FileStore> {
        &self.files
    }

    /// The email addresses of the operator accounts.
    #[tracing::instrument(skip_all)]
    pub async fn operator_addresses(&self) -> AppResult<Vec<String>> {
        let mut tx = self.store.read().await?;
        let mut out = Vec::new();
        for id in tx.operator_ids().await? {
            if let Some(email) = self.account_email(&mut tx, id).await? {
                out.push(email);
            }
        }
        Ok(out)
    }

    /// Queues a notice to every operator account and to `extra` addresses (an alert); returns
    /// how many were queued. Nothing is queued without a mail server.
    #[tracing::instrument(skip_all)]
    pub async fn queue_operator_notice(
        &self,
        extra: &[String],
        subject: &str,
        text: &str,
    ) -> AppResult<usize> {
        let mut to = self.operator_addresses().await?;
        for e in extra {
            if !to.iter().any(|t| t.eq_ignore_ascii_case(e)) {
                to.push(e.clone());
            }
        }
        let mut tx = self.store.begin().await?;
        for addr in &to {
            self.queue_account_mail(&mut tx, &plain_mail(addr, subject, text.to_owned()))
                .await?;
        }
        tx.commit().await?;
        Ok(if self.settings.mail_enabled {
            to.len()
        } else {
            0
        })
    }

    /// Records a backup's outcome or a restore in the audit log, as the operator's action
    /// (a failed backup with the outcome `failure`).
    #[tracing::instrument(skip_all)]
    pub async fn audit_backup(
        &self,
        action: AuditAction,
        workspace: Option<ideaweave_domain::WorkspaceId>,
        facts: serde_json::Value,
    ) -> AppResult<u64> {
        let outcome = if action == AuditAction::BackupFailed {
            Outcome::Failure
        } else {
            Outcome::Success
        };
        self.audit_alone(AuditEvent {
            workspace,
            actor: Who::Operator,
            action,
            target: Target::Scope,
            outcome,
            client: &ClientInfo::console(),
            facts,
        })
        .await
    }
}

/// The state of backups, as monitoring reads it (OPS-01, BAK-04): from the database, so every
/// node reports the same.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BackupHealth {
    /// When the newest verified backup was taken (Unix ms).
    pub last_verified_at_ms: Option<i64>,
    /// Its size.
    pub last_verified_bytes: Option<i64>,
    /// Failed attempts in the last 24 hours.
    pub failed_last_day: i64,
    /// Whether the missing-backup alert stands.
    pub missing_alert: bool,
    /// Whether the failed-backup alert stands (no verified backup since a failure).
    pub failed_alert: bool,
}

impl BackupHealth {
    /// The Prometheus text exposition of these figures at `now_ms`.
    pub fn prometheus(&self, now_ms: i64) -> String {
        let mut out = String::new();
        let mut gauge = |name: &str, help: &str, value: String| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"
            ));
        };
        if let Some(at) = self.last_verified_at_ms {
            gauge(
                "ideaweave_backup_last_verified_timestamp_seconds",
                "When the newest verified backup was taken.",
                format!("{}", at / 1000),
            );
            gauge(
                "ideaweave_backup_age_seconds",
                "Seconds since the newest verified backup was taken.",
                format!("{}", (now_ms - at).max(0) / 1000),
            );
        }
        gauge(
            "ideaweave_backup_last_verified_bytes",
            "Size of the newest verified backup.",
            format!("{}", self.last_verified_bytes.unwrap_or(0)),
        );
        gauge(
            "ideaweave_backup_failures_last_day",
            "Backups that failed or failed verification in the last 24 hours.",
            format!("{}", self.failed_last_day),
        );
        gauge(
            "ideaweave_backup_alert",
            "1 while a backup alert stands (a failed or missing backup), else 0.",
            format!("{}", u8::from(self.missing_alert || self.failed_alert)),
        );
        gauge(
            "ideaweave_backup_missing",
            "1 while no verified backup exists for longer than the schedule plus its grace period.",
            format!("{}", u8::from(self.missing_alert)),
        );
        out
    }
}

impl App {
    /// The state of backups.
    #[tracing::instrument(skip_all)]
    pub async fn backup_health(&self) -> AppResult<BackupHealth> {
        let mut tx = self.store.read().await?;
        let last = tx.last_verified_backup().await?;
        let since = self.now_ms() - 24 * 3_600_000;
        Ok(BackupHealth {
            last_verified_at_ms: last.as_ref().map(|r| r.started_at),
            last_verified_bytes: last.and_then(|r| r.bytes),
            failed_last_day: tx.failed_backups_since(since).await?,
            missing_alert: tx.backup_alert_sent("missing").await?.is_some(),
            failed_alert: tx.backup_alert_sent("failed").await?.is_some(),
        })
    }
}
