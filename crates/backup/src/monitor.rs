//! Alerts (BAK-04): a backup that fails, fails its verification, or is missing raises an alert
//! at error level in the log, in the metrics (`ideaweave_backup_alert`), by email to the
//! operator accounts and the configured addresses, and to an optional webhook. A standing
//! problem is told again once a day, not at every check.

use ideaweave_app::App;

use crate::BackupResult;
use crate::settings::BackupSettings;
use crate::take::rfc3339;

const DAY_MS: i64 = 86_400_000;

/// One alert.
#[derive(Debug, Clone)]
pub(crate) struct Alert {
    kind: &'static str,
    subject: String,
    text: String,
    backup: Option<String>,
}

impl Alert {
    pub(crate) fn failed(backup: &str, why: &str) -> Self {
        Self {
            kind: "failed",
            subject: "Ideaweave backup failed".into(),
            text: format!(
                "The backup {backup} failed and is not counted as a good backup:\n\n{why}\n\n\
                 The next scheduled backup will try again; `ideaweave backup now` tries at once, \
                 and `ideaweave backup list` shows every backup with its verification."
            ),
            backup: Some(backup.to_owned()),
        }
    }

    fn missing(last: Option<i64>, due: i64) -> Self {
        let last = last.map_or_else(
            || "there is none".to_owned(),
            |t| format!("it was taken {}", rfc3339(t)),
        );
        Self {
            kind: "missing",
            subject: "Ideaweave backup missing".into(),
            text: format!(
                "No verified backup was taken for the backup due {} (plus its grace period); \
                 as for the newest verified backup, {last}.\n\n\
                 Check the server's log for backup errors, and run `ideaweave backup now`.",
                rfc3339(due)
            ),
            backup: None,
        }
    }
}

/// Raises `alert` on every channel; a channel that fails is logged and does not stop the others.
pub(crate) async fn send_alert(app: &App, settings: &BackupSettings, alert: &Alert) {
    tracing::error!(alert = alert.kind, backup = ?alert.backup, "{}", alert.text.replace("\n\n", " "));
    let now = app.now_ms();
    match app.store().begin().await {
        Ok(mut tx) => {
            if tx.record_backup_alert(alert.kind, now).await.is_ok() {
                let _ = tx.commit().await;
            }
        }
        Err(e) => tracing::error!(error = %e, "could not record a backup alert"),
    }
    if let Err(e) = app
        .queue_operator_notice(&settings.alert_emails, &alert.subject, &alert.text)
        .await
    {
        tracing::error!(error = %e, "could not queue the backup alert email");
    }
    if let Some(url) = &settings.alert_webhook {
        let body = serde_json::json!({
            "event": format!("backup.{}", alert.kind),
            "subject": alert.subject,
            "text": alert.text,
            "backup": alert.backup,
            "at": rfc3339(now),
        });
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build();
        let sent = match client {
            Ok(c) => c.post(url).json(&body).send().await.map(|r| r.status()),
            Err(e) => Err(e),
        };
        match sent {
            Ok(s) if s.is_success() => {}
            Ok(s) => tracing::error!(status = %s, "the backup alert webhook refused the alert"),
            Err(e) => {
                tracing::error!(error = %e, "could not deliver the backup alert to the webhook")
            }
        }
    }
}

/// Raises the missing-backup alert when the newest verified backup is older than the last
/// scheduled time whose grace period has passed (and the instance was watched at that time).
/// Returns whether backups are missing.
pub async fn check_missing(app: &App, settings: &BackupSettings) -> BackupResult<bool> {
    let now = app.now_ms();
    let mut tx = app.store().begin().await?;
    let since = match tx.backup_alert_sent("watching").await? {
        Some(t) => t,
        None => {
            tx.record_backup_alert("watching", now).await?;
            now
        }
    };
    let last = tx.last_verified_backup().await?.map(|r| r.started_at);
    let due = settings
        .schedule
        .previous_at_or_before(now - settings.grace_ms)
        .filter(|d| *d >= since);
    let missing = matches!(due, Some(d) if last.is_none_or(|l| l < d));
    let told = tx.backup_alert_sent("missing").await?;
    if !missing && told.is_some() {
        tx.clear_backup_alert("missing").await?;
    }
    tx.commit().await?;
    if let (true, Some(due)) = (missing, due)
        && told.is_none_or(|t| now - t >= DAY_MS)
    {
        send_alert(app, settings, &Alert::missing(last, due)).await;
    }
    Ok(missing)
}
