//! Rectifying one's email address (DSR-02). The person, signed in, gives the new address; a
//! single-use link goes to it (proving it is theirs) and works for the password-reset lifetime;
//! following it replaces the address, tells the old address, and is recorded as
//! `account.email_changed`. Names are rectified directly (`PATCH /me`).

use ideaweave_domain::{Email, UserId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::platform::mail::plain_mail;
use crate::platform::sealed::account;
use crate::platform::sealed::column;
use crate::platform::secrets::{parse_prefixed_secret, prefixed_secret};
use crate::trust::audit::{AuditAction, AuditEvent, ClientInfo, Outcome, Target, Who};
use crate::{App, AppError, AppResult, Principal};

/// The prefix of address-change secrets.
const CHANGE_PREFIX: &str = "iwe";

/// A new address to confirm.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailChangeInput {
    /// The new email address; a link to confirm it is sent there.
    pub email: String,
}

/// A pending address change, as the link's holder sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmailChangeInfo {
    /// The new address the link confirms.
    pub email: String,
    /// When the link stops working (Unix milliseconds).
    pub expires_at: i64,
}

impl App {
    /// Starts changing the caller's address (signed-in sessions): emails a confirmation link to
    /// the new address. Says nothing about whether another account uses it; confirming does.
    #[tracing::instrument(skip_all)]
    pub async fn request_email_change(
        &self,
        principal: &Principal,
        input: EmailChangeInput,
    ) -> AppResult<EmailChangeInfo> {
        if principal.is_api_token() {
            return Err(AppError::Forbidden(
                "sign in to change your email address; API tokens cannot".into(),
            ));
        }
        if !self.settings.mail_enabled {
            return Err(AppError::Conflict(
                "this instance sends no email, so a new address cannot be confirmed; ask its operator to change it"
                    .into(),
            ));
        }
        let email = Email::parse(&input.email)?;
        let user = principal.user;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let current = tx
            .user_by_id(user)
            .await?
            .ok_or(AppError::NotFound("account"))?;
        let old = self
            .open_text(&mut tx, &account(column::USERS_EMAIL, user), &current.email)
            .await?;
        if old.eq_ignore_ascii_case(email.as_str()) {
            return Err(AppError::invalid("email", "is your address already"));
        }
        let (secret, hash) = prefixed_secret(CHANGE_PREFIX)?;
        let ttl = crate::identity::password_reset::LINK_TTL;
        let expires_at = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        let id = uuid::Uuid::now_v7();
        let key = self.keyring.account_key(&mut tx, user, now).await?;
        let sealed = key.seal(
            &account(column::USERS_EMAIL_CHANGE, user),
            email.as_str().as_bytes(),
        )?;
        tx.insert_email_change(id, user, &sealed, &hash, now, expires_at)
            .await?;
        let url = format!("{}/email-change/{secret}", self.settings.public_url);
        self.queue_account_mail(
            &mut tx,
            &plain_mail(
                email.as_str(),
                "Confirm your new Ideaweave address",
                format!(
                    "Someone asked to use {email} as the address of an Ideaweave account.\n\n\
                     Open this link to confirm it (it works once, until it expires):\n\n{url}\n\n\
                     If you did not ask for this, ignore this email: nothing changes."
                ),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(EmailChangeInfo {
            email: email.to_string(),
            expires_at,
        })
    }

    async fn live_email_change(&self, token: &str) -> AppResult<ideaweave_store::EmailChangeRow> {
        let gone = || AppError::NotFound("address change");
        let hash = parse_prefixed_secret(CHANGE_PREFIX, token).ok_or_else(gone)?;
        let mut tx = self.store.read().await?;
        let rec = tx.email_change_by_hash(&hash).await?.ok_or_else(gone)?;
        if rec.expires_at <= self.now() {
            return Err(AppError::Conflict(
                "this link has expired; ask for a new one on your account page".into(),
            ));
        }
        Ok(rec)
    }

    async fn pending_address(
        &self,
        tx: &mut ideaweave_store::Tx,
        user: UserId,
        sealed: &[u8],
    ) -> AppResult<Email> {
        let text = self
            .keyring
            .open_text(tx, &account(column::USERS_EMAIL_CHANGE, user), sealed)
            .await?
            .ok_or(AppError::NotFound("address change"))?;
        Email::parse(&text).map_err(|e| AppError::Integrity(format!("pending address: {e}")))
    }

    /// What an address-change link confirms, while it works.
    #[tracing::instrument(skip_all)]
    pub async fn email_change_info(&self, token: &str) -> AppResult<EmailChangeInfo> {
        let rec = self.live_email_change(token).await?;
        let mut tx = self.store.read().await?;
        let email = self
            .pending_address(&mut tx, rec.user_id, &rec.new_email)
            .await?;
        Ok(EmailChangeInfo {
            email: email.to_string(),
            expires_at: rec.expires_at,
        })
    }

    /// Confirms an address change with its link: the account's address becomes the new one
    /// (unless another account took it meanwhile: 409), the old address is told, and the change
    /// is recorded.
    #[tracing::instrument(skip_all)]
    pub async fn confirm_email_change(&self, token: &str, client: &ClientInfo) -> AppResult<()> {
        // Clear errors first (unknown, expired), then the change is used up inside the
        // transaction that applies it.
        self.live_email_change(token).await?;
        let hash = parse_prefixed_secret(CHANGE_PREFIX, token)
            .ok_or(AppError::NotFound("address change"))?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let rec = tx
            .take_email_change(&hash, now)
            .await?
            .ok_or(AppError::NotFound("address change"))?;
        let user = rec.user_id;
        let email = self.pending_address(&mut tx, user, &rec.new_email).await?;
        let index = self.keyring.email_index(&email)?;
        if tx
            .user_by_email_index(&index)
            .await?
            .is_some_and(|u| u.id != user)
        {
            return Err(AppError::Conflict(
                "another account uses this address now; choose another".into(),
            ));
        }
        let current = tx
            .user_by_id(user)
            .await?
            .ok_or(AppError::NotFound("account"))?;
        let old = self
            .open_text(&mut tx, &account(column::USERS_EMAIL, user), &current.email)
            .await?;
        let key = self.keyring.account_key(&mut tx, user, now).await?;
        let sealed = key.seal(
            &account(column::USERS_EMAIL, user),
            email.as_str().as_bytes(),
        )?;
        if !tx.set_user_email(user, &index, &sealed).await? {
            return Err(AppError::NotFound("account"));
        }
        tx.delete_email_changes_of(user).await?;
        // Reset links already sent to the old address must not work for its next reader.
        tx.delete_password_resets_of(user).await?;
        self.queue_account_mail(
            &mut tx,
            &plain_mail(
                &old,
                "Your Ideaweave address was changed",
                format!(
                    "The address of your Ideaweave account was changed from {old} to {email}.\n\n\
                     If you did not do this, contact the operator of {} at once.",
                    self.settings.public_url
                ),
            ),
        )
        .await?;
        self.audit(
            &mut tx,
            AuditEvent {
                workspace: None,
                actor: Who::Person(user),
                action: AuditAction::AccountEmailChanged,
                target: Target::Person(user),
                outcome: Outcome::Success,
                client,
                facts: json!(null),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
