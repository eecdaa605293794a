//! Password reset by an emailed, single-use link (IDN-01, COL-04, AUD-01).
//!
//! Anyone may ask for a reset link for an address. The answer is the same, after at least the
//! same time, whether or not the address has an account, so the form does not tell who has one.
//! For an account, a random secret is made, only its SHA-256 is stored (like session cookies and
//! API tokens), and the link `{public_url}/reset-password/{secret}` is emailed through the outbox,
//! sealed with the instance's account-mail key. A link works once and for [`LINK_TTL`]; asking
//! again replaces the earlier link. Setting a new password with it ends every session of the
//! account.

use std::time::Duration;

use ideaweave_domain::{Email, UserId};
use ideaweave_store::Tx;
use ideaweave_store::records::{PasswordResetRecord, UserRecord};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::platform::mail::{OutgoingMail, html_escape};
use crate::platform::sealed::account;
use crate::platform::sealed::column;
use crate::platform::secrets::{parse_prefixed_secret, prefixed_secret};
use crate::trust::audit::{AuditAction, AuditEvent, ClientInfo, Outcome, Target, Who};
use crate::{App, AppError, AppResult};

/// The prefix of password reset secrets.
const RESET_PREFIX: &str = "iwr";

/// How long an emailed password reset or address confirmation link works: long enough to reach
/// the mailbox and be read, short enough that an old mail in a leaked mailbox is useless.
pub(crate) const LINK_TTL: Duration = Duration::from_secs(3600);

/// The least time a reset request takes. The work for an existing account (a transaction, an
/// audit entry, sealing the message) takes a few milliseconds that an unknown address does not;
/// answering no sooner than this hides the difference.
const REQUEST_FLOOR: Duration = Duration::from_millis(250);

/// A request for a password reset link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// The account's email address.
    pub email: String,
}

/// A new password, set with a reset link.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPasswordInput {
    /// At least 12 and at most 256 characters.
    pub password: String,
}

impl std::fmt::Debug for NewPasswordInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPasswordInput { password: <redacted> }")
    }
}

/// What a live reset link is for, shown to whoever holds the link.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordResetInfo {
    /// The account's address, masked (`a…@example.org`): enough to recognise it, not to
    /// harvest it from a leaked link.
    pub email: String,
    /// When the link stops working (Unix milliseconds).
    pub expires_at: i64,
}

/// `ann@example.org` → `a…@example.org`.
fn mask_email(email: &Email) -> String {
    let (local, domain) = email
        .as_str()
        .split_once('@')
        .unwrap_or((email.as_str(), ""));
    let first: String = local.chars().take(1).collect();
    format!("{first}…@{domain}")
}

/// "1 hour", "90 minutes".
fn for_how_long(d: Duration) -> String {
    let minutes = (d.as_secs() / 60).max(1);
    match (minutes % 60, minutes / 60) {
        (0, 1) => "1 hour".to_owned(),
        (0, h) => format!("{h} hours"),
        _ if minutes == 1 => "1 minute".to_owned(),
        _ => format!("{minutes} minutes"),
    }
}

/// The email that carries a reset link.
fn reset_mail(to: &Email, url: &str, valid_for: Duration) -> OutgoingMail {
    let how_long = for_how_long(valid_for);
    let subject = "Reset your Ideaweave password".to_owned();
    let text = format!(
        "Someone asked to reset the password of the Ideaweave account for {to}.\n\n\
         Open this link to choose a new password (it works once, for {how_long}):\n\n{url}\n\n\
         Setting a new password signs the account out everywhere.\n\n\
         If you did not ask for this, you can ignore this email: your password stays as it is.\n"
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family: sans-serif; line-height: 1.5\">\
         <p>Someone asked to reset the password of the Ideaweave account for <strong>{}</strong>.</p>\
         <p><a href=\"{}\">Choose a new password</a> (the link works once, for {}).</p>\
         <p>Setting a new password signs the account out everywhere.</p>\
         <p style=\"color: #555\">If you did not ask for this, you can ignore this email: your password stays as it is.</p>\
         </body></html>",
        html_escape(to.as_str()),
        html_escape(url),
        html_escape(&how_long),
    );
    OutgoingMail {
        to: to.to_string(),
        subject,
        text,
        html,
    }
}

/// The email that tells an account its password was changed with a reset link.
pub(crate) fn changed_mail(to: &Email) -> OutgoingMail {
    let subject = "Your Ideaweave password was changed".to_owned();
    let text = format!(
        "The password of the Ideaweave account for {to} was just changed with a reset link, \
         and the account was signed out everywhere.\n\n\
         If this was not you, reset your password again at once and tell the operator of this \
         Ideaweave instance.\n"
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family: sans-serif; line-height: 1.5\">\
         <p>The password of the Ideaweave account for <strong>{}</strong> was just changed with a \
         reset link, and the account was signed out everywhere.</p>\
         <p>If this was not you, reset your password again at once and tell the operator of this \
         Ideaweave instance.</p></body></html>",
        html_escape(to.as_str()),
    );
    OutgoingMail {
        to: to.to_string(),
        subject,
        text,
        html,
    }
}

impl App {
    /// Refuses when this instance cannot email a link (no mail server configured). The answer
    /// is the same for every address.
    pub fn password_reset_available(&self) -> AppResult<()> {
        if self.settings.mail_enabled {
            Ok(())
        } else {
            Err(AppError::Conflict(
                "this instance sends no email, so a password cannot be reset by email; ask its operator"
                    .into(),
            ))
        }
    }

    /// Asks for a password reset link for `email`. Answers `Ok(())`, after at least
    /// [`REQUEST_FLOOR`], whether or not the address has an account: only the mailbox learns.
    /// For an account, the link is queued for email and replaces any earlier one, and the
    /// request is recorded (`password.reset_requested`, actor unknown). A malformed address is
    /// refused (422), and so is every request when no mail server is configured (409).
    #[tracing::instrument(skip_all)]
    pub async fn request_password_reset(&self, email: &str, client: &ClientInfo) -> AppResult<()> {
        let email = Email::parse(email)?;
        self.password_reset_available()?;
        // Counted before anything is looked up, the same for every address: a flood of requests
        // for one address (each killing the last link and sending a mail) is slowed down.
        self.begin_attempt(&self.reset_buckets(&email, client)?)
            .await?;
        let started = tokio::time::Instant::now();
        let outcome = self.issue_password_reset(&email, client).await;
        tokio::time::sleep_until(started + REQUEST_FLOOR).await;
        outcome
    }

    async fn issue_password_reset(&self, email: &Email, client: &ClientInfo) -> AppResult<()> {
        // Made for every request, used or not: the same work whether or not there is an account.
        let (token, hash) = prefixed_secret(RESET_PREFIX)?;
        let user = {
            let mut tx = self.store.read().await?;
            match self.account_by_email(&mut tx, email).await? {
                Some(u) => self
                    .account_address(&mut tx, u.id, &u.email)
                    .await?
                    .filter(|stored| stored == email)
                    .map(|_| u.id),
                None => None,
            }
        };
        let Some(user) = user else {
            return Ok(());
        };
        let now = self.now();
        let ttl = crate::identity::password_reset::LINK_TTL;
        let expires_at = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        let id = uuid::Uuid::now_v7();
        let mut tx = self.store.begin().await?;
        // Recorded first: appending locks the log's head, which serialises two requests for the
        // same account, so the later one always sees, and replaces, the earlier one's link.
        self.audit(
            &mut tx,
            AuditEvent {
                workspace: None,
                actor: Who::Nobody,
                action: AuditAction::PasswordResetRequested,
                target: Target::Person(user),
                outcome: Outcome::Success,
                client,
                facts: json!({"expires_at": expires_at}),
            },
        )
        .await?;
        tx.delete_password_resets_of(user).await?;
        tx.insert_password_reset(id, user, &hash, now, expires_at)
            .await?;
        let url = format!(
            "{}/reset-password/{token}",
            self.settings.public_url.trim_end_matches('/')
        );
        self.queue_account_mail(&mut tx, &reset_mail(email, &url, ttl))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An account's email address, opened; `None` once the account was erased.
    /// The caller's account. A principal whose account is gone is no longer signed in.
    pub(crate) async fn account_of(&self, tx: &mut Tx, user: UserId) -> AppResult<UserRecord> {
        tx.user_by_id(user).await?.ok_or(AppError::Unauthenticated)
    }

    /// The address of the caller's account, opened. An account whose address key was shredded
    /// (erased) is no longer signed in.
    pub(crate) async fn caller_address(
        &self,
        tx: &mut Tx,
        account: &UserRecord,
    ) -> AppResult<Email> {
        self.account_address(tx, account.id, &account.email)
            .await?
            .ok_or(AppError::Unauthenticated)
    }

    pub(crate) async fn account_address(
        &self,
        tx: &mut Tx,
        user: UserId,
        sealed: &[u8],
    ) -> AppResult<Option<Email>> {
        let opened = self
            .keyring
            .open_text(tx, &account(column::USERS_EMAIL, user), sealed)
            .await?;
        Ok(opened.and_then(|e| Email::parse(&e).ok()))
    }

    /// The reset token behind a link, if it can still be used: 404 for a link that never
    /// existed or was replaced by a newer one, 409 for one used or expired.
    async fn live_reset(&self, token: &str) -> AppResult<PasswordResetRecord> {
        let gone = || AppError::NotFound("password reset");
        let hash = parse_prefixed_secret(RESET_PREFIX, token).ok_or_else(gone)?;
        let mut tx = self.store.read().await?;
        let rec = tx.password_reset_by_hash(&hash).await?.ok_or_else(gone)?;
        check_live(&rec, self.now())?;
        Ok(rec)
    }

    /// What a reset link is for, while it can be used.
    #[tracing::instrument(skip_all)]
    pub async fn password_reset_info(&self, token: &str) -> AppResult<PasswordResetInfo> {
        let rec = self.live_reset(token).await?;
        let mut tx = self.store.read().await?;
        let user = tx
            .user_by_id(rec.user_id)
            .await?
            .ok_or(AppError::NotFound("password reset"))?;
        let email = self
            .account_address(&mut tx, user.id, &user.email)
            .await?
            .ok_or(AppError::NotFound("password reset"))?;
        Ok(PasswordResetInfo {
            email: mask_email(&email),
            expires_at: rec.expires_at,
        })
    }

    /// Sets a new password with a reset link. The password must pass the password policy; the
    /// link is then used up, every session of the account ends, the change is recorded
    /// (`password.reset`) and the account is told by email. Failed sign-ins counted against the
    /// address are forgotten: whoever guessed at it cannot keep its owner out.
    #[tracing::instrument(skip_all)]
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: &str,
        client: &ClientInfo,
    ) -> AppResult<()> {
        let rec = self.live_reset(token).await?;
        // Checked against the policy without personal words: the link's holder proved only
        // that they read the mailbox, and the address is checked when the account is opened.
        let hash = self.new_password_hash(new_password, &[]).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if !tx.consume_password_reset(rec.id, now).await? {
            // Another request used it (or it expired) while the password was being hashed.
            return Err(AppError::Conflict(
                "this password reset link has already been used or has expired; request a new one"
                    .into(),
            ));
        }
        let user = tx
            .user_by_id(rec.user_id)
            .await?
            .ok_or(AppError::NotFound("password reset"))?;
        tx.set_password_hash(user.id, &hash).await?;
        let sessions_ended = tx.delete_sessions_of(user.id).await?;
        // Whoever linked a single-sign-on identity to this account before must not keep a way
        // in (an account a rogue provider created before its owner took it over).
        tx.delete_sso_identities_of(user.id).await?;
        // An address change asked for from a session that is now ended must not survive it.
        tx.delete_email_changes_of(user.id).await?;
        self.audit(
            &mut tx,
            AuditEvent {
                workspace: None,
                actor: Who::Person(user.id),
                action: AuditAction::PasswordReset,
                target: Target::Person(user.id),
                outcome: Outcome::Success,
                client,
                facts: json!({"sessions_ended": sessions_ended}),
            },
        )
        .await?;
        if let Some(email) = self.account_address(&mut tx, user.id, &user.email).await? {
            self.forget_address_failures(&mut tx, &email).await?;
            self.queue_account_mail(&mut tx, &changed_mail(&email))
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Refuses a reset token that was used or has expired at `now`.
fn check_live(rec: &PasswordResetRecord, now: i64) -> AppResult<()> {
    if rec.used_at.is_some() {
        return Err(AppError::Conflict(
            "this password reset link has already been used; request a new one".into(),
        ));
    }
    if rec.expires_at <= now {
        return Err(AppError::Conflict(
            "this password reset link has expired; request a new one".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idn_01_reset_info_masks_the_address() {
        let e = Email::parse("Ann.Smith@Example.org").unwrap();
        assert_eq!(mask_email(&e), "a…@example.org");
        let e = Email::parse("é@example.org").unwrap();
        assert_eq!(mask_email(&e), "é…@example.org");
    }

    #[test]
    fn link_lifetimes_read_naturally() {
        assert_eq!(for_how_long(Duration::from_secs(3600)), "1 hour");
        assert_eq!(for_how_long(Duration::from_secs(7200)), "2 hours");
        assert_eq!(for_how_long(Duration::from_secs(5400)), "90 minutes");
        assert_eq!(for_how_long(Duration::from_secs(60)), "1 minute");
        assert_eq!(for_how_long(Duration::from_secs(1)), "1 minute");
    }

    #[test]
    fn col_04_the_reset_mail_carries_the_link_in_both_parts_and_escapes_html() {
        let to = Email::parse("ann@example.org").unwrap();
        let m = reset_mail(
            &to,
            "https://x.test/reset-password/iwr_a&b",
            Duration::from_secs(3600),
        );
        assert_eq!(m.to, "ann@example.org");
        assert!(m.text.contains("https://x.test/reset-password/iwr_a&b"));
        assert!(m.text.contains("1 hour"));
        assert!(m.html.contains("https://x.test/reset-password/iwr_a&amp;b"));
        assert!(!m.html.contains("iwr_a&b"));
    }

    #[test]
    fn idn_01_used_and_expired_links_are_refused() {
        let rec = |used_at, expires_at| PasswordResetRecord {
            id: uuid::Uuid::nil(),
            user_id: UserId::new(),
            created_at: 0,
            expires_at,
            used_at,
        };
        assert!(check_live(&rec(None, 10), 9).is_ok());
        assert!(matches!(
            check_live(&rec(None, 10), 10),
            Err(AppError::Conflict(_))
        ));
        assert!(matches!(
            check_live(&rec(Some(5), 10), 6),
            Err(AppError::Conflict(_))
        ));
    }
}
