//! One's sessions (IDN-04), one's password (IDN-01) and a workspace's credential policy
//! (IDN-02).

use ideaweave_domain::policy::Action;
use ideaweave_domain::{AuthLevel, Password, UserId};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::identity::auth::{Principal, hash_password, verify_password};
use crate::identity::mfa::RotatedSession;
use crate::platform::sealed::column;
use crate::platform::sealed::{account, account_row};
use crate::trust::audit::{AuditAction, AuditEvent, ClientInfo, Outcome, Target, Who};
use crate::{App, AppError, AppResult, Member};

/// One of a person's sessions, as they see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActiveSession {
    /// The id to revoke it by.
    pub id: uuid::Uuid,
    /// This is the session the list was asked for with.
    pub current: bool,
    /// When it was started (Unix milliseconds).
    pub created_at: i64,
    /// When it was last used (to the minute).
    pub last_seen_at: i64,
    /// When it ends whatever happens (the absolute timeout).
    pub expires_at: i64,
    /// When it ends if it is not used before (the idle timeout).
    pub idle_expires_at: i64,
    /// How its person signed in.
    pub level: AuthLevel,
    /// Browser and system, read from the user agent ("Firefox on Linux").
    pub device: Option<String>,
    /// The address it was started from.
    pub ip: Option<String>,
    /// Roughly where that address is ("City, Country"), only when the operator configured a
    /// GeoIP database.
    pub location: Option<String>,
}

/// Changing one's password.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeInput {
    /// The password in use now.
    pub current_password: String,
    /// The new password (12 to 256 characters, not common, not easy to guess).
    pub new_password: String,
    /// End every other session of the account.
    #[serde(default)]
    pub end_other_sessions: bool,
}

/// What a password change did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PasswordChanged {
    /// Other sessions ended.
    pub sessions_ended: u64,
}

/// A workspace's credential policy: the weakest sign-in it lets in.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialPolicyView {
    /// For guests, members and moderators.
    pub member_minimum: AuthLevel,
    /// For admins and owners.
    pub admin_minimum: AuthLevel,
}

/// The client of a session, as sealed with the account key.
#[derive(Serialize, Deserialize)]
struct SealedClient {
    ip: Option<String>,
    user_agent: Option<String>,
}

/// "Firefox on Linux", from a user agent; `None` when nothing is recognised.
pub fn describe_device(user_agent: &str) -> Option<String> {
    let ua = user_agent;
    let browser = if ua.contains("Edg/") {
        Some("Edge")
    } else if ua.contains("Firefox/") {
        Some("Firefox")
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") || ua.contains("HeadlessChrome/") {
        Some("Chrome")
    } else if ua.contains("Safari/") {
        Some("Safari")
    } else if ua.starts_with("ideaweave-cli/") {
        Some("Ideaweave CLI")
    } else if ua.starts_with("curl/") {
        Some("curl")
    } else {
        None
    };
    let system = if ua.contains("Android") {
        Some("Android")
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        Some("iOS")
    } else if ua.contains("Windows") {
        Some("Windows")
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        Some("macOS")
    } else if ua.contains("Linux") || ua.contains("X11") {
        Some("Linux")
    } else {
        None
    };
    match (browser, system) {
        (Some(b), Some(s)) => Some(format!("{b} on {s}")),
        (Some(b), None) => Some(b.to_owned()),
        (None, Some(s)) => Some(s.to_owned()),
        (None, None) => None,
    }
}

impl App {
    /// The client of a new session, sealed with the account key (`None` when nothing is
    /// known of it).
    pub(crate) async fn seal_client(
        &self,
        tx: &mut ideaweave_store::Tx,
        user: UserId,
        session: uuid::Uuid,
        client: &ClientInfo,
        now: i64,
    ) -> AppResult<Option<Vec<u8>>> {
        if client.ip.is_none() && client.user_agent.is_none() {
            return Ok(None);
        }
        let key = self.keyring.account_key(tx, user, now).await?;
        let plain = serde_json::to_vec(&SealedClient {
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
        })
        .map_err(|e| AppError::internal(e.to_string()))?;
        Ok(Some(key.seal(
            &account_row(column::SESSIONS_CLIENT, session),
            &plain,
        )?))
    }

    /// The caller's live sessions, most recently used first.
    #[tracing::instrument(skip_all)]
    pub async fn sessions(&self, principal: &Principal) -> AppResult<Vec<ActiveSession>> {
        principal.require_session()?;
        let current = principal.session.as_ref().map(|s| s.id);
        let now = self.now();
        let idle = i64::try_from(self.settings.session_idle.as_millis()).unwrap_or(i64::MAX);
        let mut tx = self.store.read().await?;
        let rows = tx
            .session_listing(principal.user, now, self.idle_cutoff(now))
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let client = match &r.client {
                Some(sealed) => self
                    .keyring
                    .open(&mut tx, &account_row(column::SESSIONS_CLIENT, r.id), sealed)
                    .await?
                    .and_then(|b| serde_json::from_slice::<SealedClient>(&b).ok()),
                None => None,
            };
            out.push(ActiveSession {
                id: r.id,
                current: Some(r.id) == current,
                created_at: r.created_at,
                last_seen_at: r.last_seen_at,
                expires_at: r.expires_at,
                idle_expires_at: r.last_seen_at.saturating_add(idle).min(r.expires_at),
                level: r.auth_level.parse().unwrap_or(AuthLevel::Password),
                device: client
                    .as_ref()
                    .and_then(|c| c.user_agent.as_deref())
                    .and_then(describe_device),
                location: client
                    .as_ref()
                    .and_then(|c| c.ip.as_deref())
                    .and_then(|ip| ip.parse().ok())
                    .and_then(|ip| self.settings.geoip.as_ref()?.place(ip)),
                ip: client.and_then(|c| c.ip),
            });
        }
        Ok(out)
    }

    /// Ends one of the caller's sessions; it stops working with the next request.
    #[tracing::instrument(skip_all)]
    pub async fn revoke_session(&self, principal: &Principal, id: uuid::Uuid) -> AppResult<()> {
        if !principal.is_session() {
            return Err(AppError::Forbidden(
                "sign in to manage your sessions; API tokens cannot".into(),
            ));
        }
        let mut tx = self.store.begin().await?;
        if !tx.delete_session_by_id(principal.user, id).await? {
            return Err(AppError::NotFound("session"));
        }
        self.audit_own(
            &mut tx,
            principal.user,
            &principal.client,
            AuditAction::SessionRevoked,
            Target::Thing("session", id),
            json!({"sessions": 1}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends every session of the caller but this one; how many ended.
    #[tracing::instrument(skip_all)]
    pub async fn revoke_other_sessions(&self, principal: &Principal) -> AppResult<u64> {
        let Some(session) = &principal.session else {
            return Err(AppError::Forbidden(
                "sign in to manage your sessions; API tokens cannot".into(),
            ));
        };
        let mut tx = self.store.begin().await?;
        let n = tx
            .delete_other_sessions(principal.user, &session.cookie_hash)
            .await?;
        self.audit_own(
            &mut tx,
            principal.user,
            &principal.client,
            AuditAction::SessionRevoked,
            Target::Scope,
            json!({"sessions": n}),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Validates a new password against the policy (IDN-01) and hashes it. `personal` is what
    /// an attacker would try first: the person's address and name.
    pub(crate) async fn new_password_hash(
        &self,
        raw: &str,
        personal: &[&str],
    ) -> AppResult<String> {
        let password = Password::parse(raw)?;
        self.settings.password_policy.check(&password, personal)?;
        hash_password(&password).await
    }

    /// Changes the caller's password: the current one is checked (and counted like a sign-in
    /// when wrong), the new one must meet the policy, the session gets a new cookie, and other
    /// sessions end on request. The account's address is told.
    #[tracing::instrument(skip_all)]
    pub async fn change_password(
        &self,
        principal: &Principal,
        input: &PasswordChangeInput,
    ) -> AppResult<(PasswordChanged, RotatedSession)> {
        let Some(session) = &principal.session else {
            return Err(AppError::Forbidden(
                "sign in to change your password; API tokens cannot".into(),
            ));
        };
        let (record, address, name) = {
            let mut tx = self.store.read().await?;
            let record = self.account_of(&mut tx, principal.user).await?;
            let address = self.caller_address(&mut tx, &record).await?;
            let name = self
                .keyring
                .open_text(
                    &mut tx,
                    &account(column::USERS_NAME, record.id),
                    &record.name,
                )
                .await?
                .unwrap_or_default();
            (record, address, name)
        };
        let buckets = self.sign_in_buckets(address.as_str(), &principal.client)?;
        let attempt = self.begin_attempt(&buckets).await?;
        let current_ok = input.current_password.len() <= Password::MAX_CHARS * 4
            && verify_password(record.password_hash.clone(), input.current_password.clone()).await;
        if !current_ok {
            self.attempt_failed(&buckets, Some((record.id, record.email.as_slice())))
                .await?;
            return Err(AppError::invalid(
                "current_password",
                "is not your current password",
            ));
        }
        // The current password was right: what follows is about the new one, not a guess.
        self.attempt_succeeded(&attempt).await?;
        if input.new_password == input.current_password {
            return Err(AppError::invalid(
                "new_password",
                "is the password you have now; choose a new one",
            ));
        }
        let hash = self
            .new_password_hash(&input.new_password, &[address.as_str(), &name])
            .await
            .map_err(|e| match e {
                AppError::Invalid(mut v) => {
                    v.field = "new_password".into();
                    AppError::Invalid(v)
                }
                other => other,
            })?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.set_password_hash(record.id, &hash).await?;
        let sessions_ended = if input.end_other_sessions {
            tx.delete_other_sessions(record.id, &session.cookie_hash)
                .await?
        } else {
            0
        };
        let rotated = self
            .rotate_in(&mut tx, &session.cookie_hash, session.level, Some(now))
            .await?;
        self.audit_own(
            &mut tx,
            record.id,
            &principal.client,
            AuditAction::PasswordChanged,
            Target::Person(record.id),
            json!({"sessions_ended": sessions_ended}),
        )
        .await?;
        self.queue_account_mail(
            &mut tx,
            &crate::identity::password_reset::changed_mail(&address),
        )
        .await?;
        tx.commit().await?;
        Ok((PasswordChanged { sessions_ended }, rotated))
    }

    /// The workspace's credential policy.
    #[tracing::instrument(skip_all, fields(workspace = %member.workspace.0))]
    pub async fn credential_policy(&self, member: &Member) -> AppResult<CredentialPolicyView> {
        member.allow(Action::ReadWorkspace)?;
        let mut tx = self.store.read().await?;
        let (m, a) = tx
            .credential_policy(member.workspace)
            .await?
            .unwrap_or_else(|| ("password".into(), "password".into()));
        Ok(CredentialPolicyView {
            member_minimum: m.parse().unwrap_or(AuthLevel::Password),
            admin_minimum: a.parse().unwrap_or(AuthLevel::Password),
        })
    }

    /// Sets the workspace's credential policy (admins, after a recent re-authentication). An
    /// admin cannot set a policy their own session does not meet: they would lock themselves
    /// out mid-change.
    #[tracing::instrument(skip_all, fields(workspace = %member.workspace.0))]
    pub async fn set_credential_policy(
        &self,
        member: &Member,
        principal: &Principal,
        input: CredentialPolicyView,
    ) -> AppResult<CredentialPolicyView> {
        member.allow(Action::ManageSettings)?;
        member.refuse_support()?;
        self.require_recent_auth(principal)?;
        if input.admin_minimum < input.member_minimum {
            return Err(AppError::invalid(
                "admin_minimum",
                "must be at least as strong as the member minimum",
            ));
        }
        let mine = principal
            .session
            .as_ref()
            .map_or(AuthLevel::Password, |s| s.level);
        if mine < input.admin_minimum {
            return Err(AppError::invalid(
                "admin_minimum",
                format!(
                    "is stronger than how you signed in ({mine}); sign in that way first, or \
                     you would be locked out"
                ),
            ));
        }
        let before = self.credential_policy(member).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.set_credential_policy(
            member.workspace,
            input.member_minimum.as_str(),
            input.admin_minimum.as_str(),
            now,
        )
        .await?;
        self.audit(
            &mut tx,
            AuditEvent {
                workspace: Some(member.workspace),
                actor: Who::Person(member.actor.user),
                action: AuditAction::CredentialPolicyChanged,
                target: Target::Scope,
                outcome: Outcome::Success,
                client: &member.client,
                facts: json!({
                    "from": {"member": before.member_minimum, "admin": before.admin_minimum},
                    "to": {"member": input.member_minimum, "admin": input.admin_minimum},
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idn_04_devices_are_named_from_their_user_agent() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(
            describe_device(firefox).as_deref(),
            Some("Firefox on Linux")
        );
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
        assert_eq!(
            describe_device(chrome).as_deref(),
            Some("Chrome on Windows")
        );
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_device(iphone).as_deref(), Some("Safari on iOS"));
        assert_eq!(describe_device("reqwest"), None);
    }
}
