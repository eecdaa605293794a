//! Outgoing email: messages are queued in the outbox inside the transaction that causes them
//! and sent by [`App::send_due_mail`] through a [`Mailer`], with retries and back-off, so a
//! mail server that is down loses nothing. Queued messages are sealed: a workspace's mail (an
//! invitation) with the workspace's key, an account's mail (a password reset link), which
//! belongs to no workspace, with the instance's account-mail key. The recipient, and the secret
//! link a message carries, never sit in clear.

use std::future::Future;
use std::pin::Pin;

use ideaweave_domain::WorkspaceId;
use ideaweave_store::Tx;
use serde::{Deserialize, Serialize};

use crate::OrInternal;
use crate::platform::keyring::ACCOUNT_SCOPE;
use crate::platform::sealed::{at, column};
use crate::{App, AppError, AppResult};

/// A message to send: plain-text and HTML parts of the same text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMail {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

/// Something that delivers email (SMTP in the server; the app knows only this).
pub trait Mailer: Send + Sync {
    /// Delivers one message; the error says why not, for the outbox's record.
    fn send<'a>(
        &'a self,
        mail: &'a OutgoingMail,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
}

/// What one round of sending did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailRound {
    /// Delivered (and removed from the outbox).
    pub sent: usize,
    /// Failed this time; tried again later.
    pub retrying: usize,
    /// Failed for the last time; kept, marked failed, for the operator to see.
    pub given_up: usize,
}

/// How long a sender holds a claimed message before another may try it.
const LEASE_MS: i64 = 5 * 60 * 1000;
/// Attempts before a message is given up.
pub const MAX_ATTEMPTS: i32 = 16;

/// The wait before attempt `n + 1`: 30 s doubling each time, at most 6 h (about a day and a
/// half over all attempts).
pub fn backoff_ms(attempts: i32) -> i64 {
    let doublings = attempts.clamp(1, 16) - 1;
    (30_000i64 << doublings).min(6 * 3600 * 1000)
}

/// Escapes text for HTML.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A notice in plain text, with the same text as simple HTML (paragraphs, line breaks).
pub(crate) fn plain_mail(to: &str, subject: impl Into<String>, text: String) -> OutgoingMail {
    let html = format!(
        "<!doctype html><html><body style=\"font-family: sans-serif; line-height: 1.5\"><p>{}</p></body></html>",
        html_escape(&text)
            .replace("\n\n", "</p><p>")
            .replace('\n', "<br>")
    );
    OutgoingMail {
        to: to.to_owned(),
        subject: subject.into(),
        text,
        html,
    }
}

/// A day as `YYYY-MM-DD` (UTC), as notices name dates.
pub(crate) fn utc_date(ms: i64) -> String {
    let days = ms.div_euclid(ideaweave_domain::retention::DAY_MS);
    let (y, m, d) = ideaweave_domain::requests::civil_date(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Where a queued message is sealed: in its workspace, or at instance level for account mail.
fn mail_place(ws: Option<WorkspaceId>, id: uuid::Uuid) -> ideaweave_crypto::Place<'static> {
    at(
        ws.unwrap_or(WorkspaceId(ACCOUNT_SCOPE)),
        column::OUTBOX_MESSAGE,
        id,
    )
}

fn encode(mail: &OutgoingMail) -> AppResult<Vec<u8>> {
    serde_json::to_vec(mail).or_internal("mail encoding")
}

/// A sending error as the outbox keeps it: in clear, so without the recipient's address, which
/// SMTP servers like to repeat in their answers.
fn redact_recipient(why: &str, to: &str) -> String {
    if to.is_empty() {
        return why.to_owned();
    }
    // ASCII case folding keeps every byte where it was, so positions in the folded text are
    // positions in the original.
    let lower = why.to_ascii_lowercase();
    let needle = to.to_ascii_lowercase();
    let mut out = String::with_capacity(why.len());
    let mut rest = 0;
    for (at, _) in lower.match_indices(&needle) {
        out.push_str(&why[rest..at]);
        out.push_str("<recipient>");
        rest = at + needle.len();
    }
    out.push_str(&why[rest..]);
    out
}

impl App {
    /// Queues `mail` inside `tx`, sealed with the workspace's key. Nothing is queued when this
    /// instance has no mail server configured.
    pub(crate) async fn queue_mail(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        mail: &OutgoingMail,
    ) -> AppResult<()> {
        if !self.settings.mail_enabled {
            return Ok(());
        }
        let now = self.now();
        let id = uuid::Uuid::now_v7();
        let key = self
            .keyring
            .data_key(&mut tx.workspace(ws), None, now)
            .await?;
        let sealed = key.seal(&mail_place(Some(ws), id), &encode(mail)?)?;
        tx.insert_mail(id, Some(ws.0), &sealed, now).await?;
        Ok(())
    }

    /// Queues `mail` to an account inside `tx` (mail that belongs to no workspace, such as a
    /// password reset link), sealed with the instance's account-mail key. Nothing is queued when
    /// this instance has no mail server configured.
    pub(crate) async fn queue_account_mail(
        &self,
        tx: &mut Tx,
        mail: &OutgoingMail,
    ) -> AppResult<()> {
        if !self.settings.mail_enabled {
            return Ok(());
        }
        let id = uuid::Uuid::now_v7();
        let key = self.keyring.account_mail_key()?;
        let sealed = key.seal(&mail_place(None, id), &encode(mail)?)?;
        tx.insert_mail(id, None, &sealed, self.now()).await?;
        Ok(())
    }

    /// Deletes the queued messages of a workspace (or account mail, `None`) addressed to
    /// `email`, compared without regard to case; returns how many (DSR-03: nothing is sent to
    /// an erased person, and their address does not wait in the outbox).
    pub(crate) async fn delete_mail_to(
        &self,
        tx: &mut Tx,
        ws: Option<WorkspaceId>,
        email: &str,
    ) -> AppResult<u64> {
        let queued = match ws {
            Some(w) => tx.workspace(w).queued_mail().await?,
            None => tx.queued_account_mail().await?,
        };
        let mut deleted = 0;
        for q in queued {
            let Some(bytes) = self
                .keyring
                .open(tx, &mail_place(ws, q.id), &q.message)
                .await?
            else {
                continue;
            };
            let mail: OutgoingMail = serde_json::from_slice(&bytes).map_err(|e| {
                AppError::Integrity(format!("queued mail {} is garbled: {e}", q.id))
            })?;
            if mail.to.eq_ignore_ascii_case(email) {
                tx.delete_mail(q.id).await?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// Sends up to `limit` due messages through `mailer`. Each is claimed first (so another
    /// node skips it), then sent outside any transaction; a failure reschedules it with
    /// back-off, and after [`MAX_ATTEMPTS`] it is given up and kept, marked failed.
    #[tracing::instrument(skip_all)]
    pub async fn send_due_mail(&self, mailer: &dyn Mailer, limit: i64) -> AppResult<MailRound> {
        let now = self.now();
        let mut claimed = Vec::new();
        {
            let mut tx = self.store.begin().await?;
            for row in tx.claim_due_mail(now, now + LEASE_MS, limit).await? {
                let ws = row.workspace_id.map(WorkspaceId);
                let opened = self
                    .keyring
                    .open(&mut tx, &mail_place(ws, row.id), &row.message)
                    .await?;
                // A message whose workspace key was shredded can no longer be sent: drop it.
                let mail = match opened {
                    Some(bytes) => {
                        Some(serde_json::from_slice::<OutgoingMail>(&bytes).map_err(|e| {
                            AppError::Integrity(format!("queued mail {} is garbled: {e}", row.id))
                        })?)
                    }
                    None => None,
                };
                claimed.push((row, mail));
            }
            tx.commit().await?;
        }
        let mut round = MailRound::default();
        for (row, mail) in claimed {
            let result = match &mail {
                Some(m) => mailer.send(m).await,
                None => Ok(()),
            };
            let mut tx = self.store.begin().await?;
            match result {
                Ok(()) => {
                    tx.delete_mail(row.id).await?;
                    round.sent += usize::from(mail.is_some());
                }
                Err(why) => {
                    let why = match &mail {
                        Some(m) => redact_recipient(&why, &m.to),
                        None => why,
                    };
                    let now = self.now();
                    let gave_up = row.attempts >= MAX_ATTEMPTS;
                    tracing::warn!(mail = %row.id, attempts = row.attempts, error = %why, gave_up, "sending an email failed");
                    tx.reschedule_mail(
                        row.id,
                        now + backoff_ms(row.attempts),
                        &why,
                        gave_up.then_some(now),
                    )
                    .await?;
                    if gave_up {
                        round.given_up += 1;
                    } else {
                        round.retrying += 1;
                    }
                }
            }
            tx.commit().await?;
        }
        Ok(round)
    }

    /// How many messages wait in the outbox, and how many were given up.
    #[tracing::instrument(skip_all)]
    pub async fn outbox_counts(&self) -> AppResult<ideaweave_store::OutboxCounts> {
        Ok(self.store.read().await?.outbox_counts().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff_ms(1), 30_000);
        assert_eq!(backoff_ms(2), 60_000);
        assert_eq!(backoff_ms(5), 480_000);
        assert_eq!(backoff_ms(30), 6 * 3600 * 1000);
        let total: i64 = (1..MAX_ATTEMPTS).map(backoff_ms).sum();
        assert!(
            total > 36 * 3600 * 1000,
            "a day and a half of outage loses nothing: {total}"
        );
    }

    #[test]
    fn sending_errors_are_kept_without_the_recipient() {
        assert_eq!(
            redact_recipient(
                "550 5.1.1 <Ann@Example.org>: Recipient address rejected (ann@example.org)",
                "ann@example.org"
            ),
            "550 5.1.1 <<recipient>>: Recipient address rejected (<recipient>)"
        );
        assert_eq!(
            redact_recipient("connection refused", "ann@example.org"),
            "connection refused"
        );
        assert_eq!(
            redact_recipient("İİ ANN@x.org, ann@x.org", "ann@x.org"),
            "İİ <recipient>, <recipient>"
        );
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            html_escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
