//! Second factors (IDN-02): an authenticator app (TOTP, RFC 6238) with ten single-use recovery
//! codes, the second step of signing in, and re-authentication before sensitive actions.
//!
//! The app's secret is 160 random bits sealed with the account key; a code is accepted once
//! (the last accepted time step is kept, and a code of that step or an earlier one is refused).
//! Recovery codes carry 50 random bits each and are stored as their SHA-256. A half-done
//! sign-in is a short-lived challenge allowing [`CHALLENGE_ATTEMPTS`] tries, and every wrong
//! code counts in the address's failed-sign-in counter like a wrong password (IDN-04).

use ideaweave_domain::{AuthLevel, UserId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use totp_rs::{Builder, Secret, Totp};

use crate::OrInternal;
use crate::identity::auth::{LoginOutcome, Principal};
use crate::platform::sealed::account_row;
use crate::platform::sealed::column;
use crate::platform::secrets::{hash_secret, random_secret};
use crate::trust::audit::{AuditAction, AuditEvent, ClientInfo, Outcome, Target, Who};
use crate::{App, AppError, AppResult};

/// How long the second step of a sign-in may take.
pub const CHALLENGE_TTL_MS: i64 = 5 * 60_000;
/// Codes one challenge may be answered with before it is void.
pub const CHALLENGE_ATTEMPTS: i64 = 5;
/// How many recovery codes a person holds.
pub const RECOVERY_CODES: usize = 10;
/// The name authenticator apps show for this service.
const ISSUER: &str = "Ideaweave";
/// The alphabet of recovery codes: Crockford's base32 (no i, l, o or u; when a code is typed
/// back, `o` reads as `0` and `i` and `l` as `1`).
const CODE_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// The second step of a sign-in: answer it with a code at `POST /session/second-factor`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SecondFactorChallenge {
    /// The challenge (secret; it works for five minutes and five attempts).
    pub challenge: String,
    /// What may answer it: `totp`, `recovery_code`, `passkey`.
    pub methods: Vec<&'static str>,
    /// Seconds it stays valid.
    pub expires_in_secs: u64,
}

/// An answer to a second-factor challenge, or a re-authentication.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondFactorInput {
    /// The challenge from `POST /session` (not for re-authentication).
    #[serde(default)]
    pub challenge: Option<String>,
    /// A six-digit code from the authenticator app.
    #[serde(default)]
    pub code: Option<String>,
    /// One of the recovery codes (used up by this).
    #[serde(default)]
    pub recovery_code: Option<String>,
    /// The account's password (re-authentication only).
    #[serde(default)]
    pub password: Option<String>,
    /// A passkey's answer, from `POST /session/second-factor/passkey` options.
    #[serde(default)]
    pub passkey: Option<crate::identity::passkeys::PasskeyAssertionInput>,
}

/// A new authenticator secret, to be scanned or typed into an app and confirmed with a code.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TotpEnrolment {
    /// The secret in base32, for typing in.
    pub secret: String,
    /// The `otpauth://` URI the QR code holds.
    pub otpauth_uri: String,
    /// The QR code as an SVG document.
    pub qr_svg: String,
}

/// Recovery codes, shown once: each signs in once when the authenticator is lost.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    pub codes: Vec<String>,
}

/// How a person can prove again who they are before a sensitive action.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct ReauthMethods {
    /// With the password (and an authenticator code when `code`).
    pub password: bool,
    /// The password needs an authenticator code (or a recovery code) with it.
    pub code: bool,
    /// With one of their passkeys (`POST /session/reauth/passkey`).
    pub passkey: bool,
}

/// A person's second factors.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SecondFactorsView {
    /// An authenticator app is set up and confirmed.
    pub totp: bool,
    /// An authenticator was started but not yet confirmed with a code.
    pub totp_pending: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: i64,
}

/// A session's new cookie after its privileges changed (the old cookie no longer works).
#[derive(Debug, Clone)]
pub struct RotatedSession {
    /// The new cookie value (secret).
    pub session: String,
    /// The new anti-CSRF token.
    pub csrf: String,
}

fn totp_for(secret: Vec<u8>, account_name: &str) -> AppResult<Totp> {
    Builder::new()
        .with_secret(Secret::from(secret))
        .with_issuer(Some(ISSUER))
        .with_account_name(account_name.replace(':', "_"))
        .build()
        .or_internal("authenticator secret")
}

/// A recovery code: ten characters in two groups, `abcde-fghij`.
fn recovery_code() -> AppResult<String> {
    let mut raw = [0u8; 10];
    getrandom::fill(&mut raw).or_internal("no randomness")?;
    let chars: String = raw
        .iter()
        .map(|b| CODE_ALPHABET[usize::from(b & 31)] as char)
        .collect();
    Ok(format!("{}-{}", &chars[..5], &chars[5..]))
}

/// The stored form of a recovery code, whatever its case, spaces or dash.
fn recovery_hash(code: &str) -> Vec<u8> {
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            other => other,
        })
        .collect();
    Sha256::digest(format!("recovery:{norm}").as_bytes()).to_vec()
}

/// Draws a QR code as SVG (dark modules as one path), so that the page needs no image
/// library and no `data:` URL under its content security policy.
fn qr_svg(text: &str) -> AppResult<String> {
    use qrcodegen::{QrCode, QrCodeEcc};
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).or_internal("drawing the QR code")?;
    let border = 4;
    let size = qr.size() + border * 2;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" \
         shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

impl App {
    /// Refuses unless the session proved who its person is within the re-authentication
    /// window (sensitive actions: export, erasure, keys, security settings). API tokens cannot
    /// re-authenticate, so they cannot do these things.
    pub fn require_recent_auth(&self, principal: &Principal) -> AppResult<()> {
        self.recent_enough(principal.session.as_ref().map(|s| s.reauth_at))
    }

    /// [`App::require_recent_auth`] for a member acting in a workspace.
    pub(crate) fn require_recent_member(&self, m: &crate::Member) -> AppResult<()> {
        self.recent_enough(m.reauth_at)
    }

    fn recent_enough(&self, reauth_at: Option<i64>) -> AppResult<()> {
        let Some(reauth_at) = reauth_at else {
            return Err(AppError::Forbidden(
                "sign in to do this; API tokens cannot".into(),
            ));
        };
        let window = i64::try_from(self.settings.reauth_window.as_millis()).unwrap_or(i64::MAX);
        if reauth_at < self.now().saturating_sub(window) {
            return Err(AppError::ReauthenticationRequired);
        }
        Ok(())
    }

    /// A person's second factors.
    #[tracing::instrument(skip_all)]
    pub async fn second_factors(&self, principal: &Principal) -> AppResult<SecondFactorsView> {
        principal.require_session()?;
        let mut tx = self.store.read().await?;
        let totp = tx.totp_of(principal.user).await?;
        Ok(SecondFactorsView {
            totp: totp.as_ref().is_some_and(|t| t.confirmed_at.is_some()),
            totp_pending: totp.as_ref().is_some_and(|t| t.confirmed_at.is_none()),
            recovery_codes_left: tx.recovery_codes_left(principal.user).await?,
        })
    }

    /// Starts setting up an authenticator app: a new secret, shown once, to confirm with a code
    /// ([`App::confirm_totp`]). Needs a recent re-authentication.
    #[tracing::instrument(skip_all)]
    pub async fn start_totp(&self, principal: &Principal) -> AppResult<TotpEnrolment> {
        self.require_recent_auth(principal)?;
        let mut secret = [0u8; 20];
        getrandom::fill(&mut secret).or_internal("no randomness")?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let user = self.account_of(&mut tx, principal.user).await?;
        let address = self
            .account_address(&mut tx, user.id, &user.email)
            .await?
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default();
        let key = self.keyring.account_key(&mut tx, user.id, now).await?;
        let sealed = key.seal(
            &account_row(column::TOTP_CREDENTIALS_SECRET, user.id.0),
            &secret,
        )?;
        if !tx.put_pending_totp(user.id, &sealed, now).await? {
            return Err(AppError::Conflict(
                "an authenticator app is already set up; remove it before adding another".into(),
            ));
        }
        tx.commit().await?;
        let totp = totp_for(secret.to_vec(), &address)?;
        let uri = totp.to_url().or_internal("otpauth URI")?;
        Ok(TotpEnrolment {
            secret: totp.secret().to_base32(),
            qr_svg: qr_svg(&uri)?,
            otpauth_uri: uri,
        })
    }

    /// Confirms the authenticator with a code from it: two-factor sign-in is on from now, the
    /// ten recovery codes are returned (once), and this session counts as two-factor (with a new
    /// cookie, since its privileges grew).
    #[tracing::instrument(skip_all)]
    pub async fn confirm_totp(
        &self,
        principal: &Principal,
        code: &str,
    ) -> AppResult<(RecoveryCodes, RotatedSession)> {
        let session = principal
            .session
            .as_ref()
            .ok_or_else(|| AppError::Forbidden("sign in to do this; API tokens cannot".into()))?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let record = tx
            .totp_of(principal.user)
            .await?
            .filter(|t| t.confirmed_at.is_none())
            .ok_or_else(|| {
                AppError::Conflict(
                    "no authenticator is waiting to be confirmed; start again".into(),
                )
            })?;
        let secret = self
            .keyring
            .open(
                &mut tx,
                &account_row(column::TOTP_CREDENTIALS_SECRET, principal.user.0),
                &record.secret,
            )
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let step = totp_for(secret, "")?
            .check(code.trim(), u64::try_from(now / 1000).unwrap_or(0))
            .ok_or_else(|| {
                AppError::invalid(
                    "code",
                    "is not the code your app shows now; check the device's clock and try again",
                )
            })?;
        if !tx
            .accept_totp_step(principal.user, i64::try_from(step).unwrap_or(i64::MAX), now)
            .await?
        {
            return Err(AppError::invalid(
                "code",
                "was used already; wait for the next one",
            ));
        }
        let codes = self
            .new_recovery_codes(&mut tx, principal.user, now)
            .await?;
        let rotated = self
            .factor_added(
                &mut tx,
                principal,
                session,
                "totp",
                "An authenticator app was set up for two-factor sign-in",
            )
            .await?;
        tx.commit().await?;
        Ok((codes, rotated))
    }

    /// Removes the authenticator app and the recovery codes. Needs a recent re-authentication.
    #[tracing::instrument(skip_all)]
    pub async fn remove_totp(&self, principal: &Principal) -> AppResult<()> {
        self.require_recent_auth(principal)?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_totp(principal.user).await? {
            return Err(AppError::NotFound("authenticator"));
        }
        tx.delete_recovery_codes(principal.user).await?;
        self.audit_own(
            &mut tx,
            principal.user,
            &principal.client,
            AuditAction::MfaDisabled,
            Target::Person(principal.user),
            json!({"method": "totp"}),
        )
        .await?;
        self.tell_security_change(
            &mut tx,
            principal.user,
            "Two-factor sign-in with an authenticator app was turned off",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the recovery codes with ten new ones (shown once). Needs a recent
    /// re-authentication and a confirmed authenticator.
    #[tracing::instrument(skip_all)]
    pub async fn regenerate_recovery_codes(
        &self,
        principal: &Principal,
    ) -> AppResult<RecoveryCodes> {
        self.require_recent_auth(principal)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let confirmed = tx
            .totp_of(principal.user)
            .await?
            .is_some_and(|t| t.confirmed_at.is_some());
        if !confirmed {
            return Err(AppError::Conflict(
                "set up an authenticator app first; recovery codes stand in for it".into(),
            ));
        }
        let codes = self
            .new_recovery_codes(&mut tx, principal.user, now)
            .await?;
        self.audit_own(
            &mut tx,
            principal.user,
            &principal.client,
            AuditAction::RecoveryCodesRegenerated,
            Target::Person(principal.user),
            json!({"codes": RECOVERY_CODES}),
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }

    async fn new_recovery_codes(
        &self,
        tx: &mut ideaweave_store::Tx,
        user: UserId,
        now: i64,
    ) -> AppResult<RecoveryCodes> {
        let codes = (0..RECOVERY_CODES)
            .map(|_| recovery_code())
            .collect::<AppResult<Vec<_>>>()?;
        let hashes: Vec<Vec<u8>> = codes.iter().map(|c| recovery_hash(c)).collect();
        tx.replace_recovery_codes(user, &hashes, now).await?;
        Ok(RecoveryCodes { codes })
    }

    /// Opens the second step of a sign-in whose password was right.
    pub(crate) async fn second_factor_challenge(
        &self,
        user: UserId,
        methods: Vec<&'static str>,
    ) -> AppResult<SecondFactorChallenge> {
        let challenge = random_secret()?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.insert_sign_in_challenge(&hash_secret(&challenge), user, now, now + CHALLENGE_TTL_MS)
            .await?;
        tx.commit().await?;
        Ok(SecondFactorChallenge {
            challenge,
            methods,
            expires_in_secs: u64::try_from(CHALLENGE_TTL_MS / 1000).unwrap_or(300),
        })
    }

    /// Finishes a sign-in with a code from the authenticator or a recovery code. A wrong code
    /// counts against the challenge and against the address like a wrong password.
    #[tracing::instrument(skip_all)]
    pub async fn complete_second_factor(
        &self,
        input: &SecondFactorInput,
        client: &ClientInfo,
    ) -> AppResult<LoginOutcome> {
        let void = || {
            AppError::Forbidden(
                "this sign-in has expired or had too many wrong codes; sign in again".into(),
            )
        };
        let challenge = input.challenge.as_deref().unwrap_or_default();
        if challenge.len() != 43 {
            return Err(void());
        }
        let hash = hash_secret(challenge);
        let now = self.now();
        let (user, attempts) = {
            let mut tx = self.store.begin().await?;
            let found = tx.attempt_sign_in_challenge(&hash, now).await?;
            tx.commit().await?;
            found.ok_or_else(void)?
        };
        let (record, address) = {
            let mut tx = self.store.read().await?;
            let record = tx.user_by_id(user).await?.ok_or_else(void)?;
            let address = self
                .account_address(&mut tx, user, &record.email)
                .await?
                .ok_or_else(void)?;
            (record, address)
        };
        let buckets = self.sign_in_buckets(address.as_str(), client)?;
        if attempts > CHALLENGE_ATTEMPTS {
            let mut tx = self.store.begin().await?;
            tx.delete_sign_in_challenge(&hash).await?;
            tx.commit().await?;
            return Err(void());
        }
        let attempt = self.begin_attempt(&buckets).await?;
        let method = self
            .check_second_factor(user, input, now, Some(&hash))
            .await?;
        let Some(method) = method else {
            self.audit_alone(AuditEvent {
                workspace: None,
                actor: Who::Person(user),
                action: AuditAction::SignInFailed,
                target: Target::Scope,
                outcome: Outcome::Failure,
                client,
                facts: json!({"reason": "wrong second factor"}),
            })
            .await?;
            self.attempt_failed(&buckets, Some((user, record.email.as_slice())))
                .await?;
            return Err(AppError::Forbidden(
                "that code is not correct (or was used already)".into(),
            ));
        };
        {
            let mut tx = self.store.begin().await?;
            tx.delete_sign_in_challenge(&hash).await?;
            self.record_code_use(&mut tx, user, method, client).await?;
            tx.commit().await?;
        }
        self.attempt_succeeded(&attempt).await?;
        let level = if method == "passkey" {
            AuthLevel::Passkey
        } else {
            AuthLevel::Mfa
        };
        self.signed_in(&record, client, level).await
    }

    /// Records the use of a recovery code (with how many are left), so that its owner sees
    /// when one went; other methods leave nothing to record here.
    pub(crate) async fn record_code_use(
        &self,
        tx: &mut ideaweave_store::Tx,
        user: UserId,
        method: &str,
        client: &ClientInfo,
    ) -> AppResult<()> {
        if method == "recovery_code" {
            let left = tx.recovery_codes_left(user).await?;
            self.audit_own(
                tx,
                user,
                client,
                AuditAction::RecoveryCodeUsed,
                Target::Person(user),
                json!({"left": left}),
            )
            .await?;
        }
        Ok(())
    }

    /// Checks an authenticator or recovery code of `user`, using it up; which one it was, or
    /// `None` when it was wrong, reused, or absent.
    async fn check_second_factor(
        &self,
        user: UserId,
        input: &SecondFactorInput,
        now: i64,
        sign_in_challenge: Option<&[u8]>,
    ) -> AppResult<Option<&'static str>> {
        if let (Some(answer), Some(challenge)) = (&input.passkey, sign_in_challenge) {
            let ok = self
                .check_passkey_second_factor(user, challenge, answer)
                .await?;
            return Ok(ok.then_some("passkey"));
        }
        let mut tx = self.store.begin().await?;
        let method = self
            .check_code_in(
                &mut tx,
                user,
                input.code.as_deref(),
                input.recovery_code.as_deref(),
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(method)
    }

    /// Checks an authenticator or recovery code of `user` inside `tx`, using it up there (so a
    /// caller that drops `tx` leaves the code unused); which one it was, or `None` when it was
    /// wrong, reused, or absent.
    pub(crate) async fn check_code_in(
        &self,
        tx: &mut ideaweave_store::Tx,
        user: UserId,
        code: Option<&str>,
        recovery_code: Option<&str>,
        now: i64,
    ) -> AppResult<Option<&'static str>> {
        if let Some(code) = code.filter(|c| !c.trim().is_empty()) {
            let Some(record) = tx.totp_of(user).await?.filter(|t| t.confirmed_at.is_some()) else {
                return Ok(None);
            };
            let secret = self
                .keyring
                .open(
                    tx,
                    &account_row(column::TOTP_CREDENTIALS_SECRET, user.0),
                    &record.secret,
                )
                .await?;
            let Some(secret) = secret else {
                return Ok(None);
            };
            let step =
                totp_for(secret, "")?.check(code.trim(), u64::try_from(now / 1000).unwrap_or(0));
            let ok = match step {
                Some(step) => {
                    tx.accept_totp_step(user, i64::try_from(step).unwrap_or(i64::MAX), now)
                        .await?
                }
                None => false,
            };
            return Ok(ok.then_some("totp"));
        }
        if let Some(code) = recovery_code.filter(|c| !c.trim().is_empty()) {
            let ok = tx
                .use_recovery_code(user, &recovery_hash(code), now)
                .await?;
            return Ok(ok.then_some("recovery_code"));
        }
        Ok(None)
    }

    /// Proves again who the session's person is (password, and the second factor when they
    /// have one): the session may do sensitive things for the next minutes, under a new cookie.
    #[tracing::instrument(skip_all)]
    pub async fn reauthenticate(
        &self,
        principal: &Principal,
        input: &SecondFactorInput,
    ) -> AppResult<RotatedSession> {
        let session = principal
            .session
            .as_ref()
            .ok_or_else(|| AppError::Forbidden("sign in to do this; API tokens cannot".into()))?;
        let now = self.now();
        let (record, address) = {
            let mut tx = self.store.read().await?;
            let record = self.account_of(&mut tx, principal.user).await?;
            let address = self.caller_address(&mut tx, &record).await?;
            (record, address)
        };
        let buckets = self.sign_in_buckets(address.as_str(), &principal.client)?;
        if record.password_hash.is_none() {
            // An account made by single sign-on has no password to confirm: its person proves
            // who they are again by signing in again through their provider.
            return Err(AppError::Conflict(
                "this account signs in through single sign-on: sign out and in again to confirm \
                 it is you"
                    .into(),
            ));
        }
        let (has_totp, has_passkey) = {
            let mut tx = self.store.read().await?;
            let totp = tx
                .totp_of(record.id)
                .await?
                .is_some_and(|t| t.confirmed_at.is_some());
            (totp, self.has_passkey(&mut tx, record.id).await?)
        };
        if has_passkey && !has_totp {
            // A password alone must not stand in for the passkey.
            return Err(AppError::Conflict(
                "your second factor is a passkey: confirm it is you with your passkey".into(),
            ));
        }
        let attempt = self.begin_attempt(&buckets).await?;
        let password_ok = match input.password.as_deref() {
            Some(pw) if pw.len() <= ideaweave_domain::Password::MAX_CHARS * 4 => {
                crate::identity::auth::verify_password(record.password_hash.clone(), pw.to_owned())
                    .await
            }
            _ => false,
        };
        let factor_ok = !has_totp
            || (password_ok
                && self
                    .check_second_factor(record.id, input, now, None)
                    .await?
                    .is_some());
        if !password_ok || !factor_ok {
            self.reauth_failed(principal, &record, &buckets).await?;
            let what = if has_totp {
                "the password or the code is not correct"
            } else {
                "the password is not correct"
            };
            return Err(AppError::Forbidden(what.into()));
        }
        self.reauth_succeeded(
            principal,
            session,
            &attempt,
            json!({"method": "password", "second_factor": has_totp}),
        )
        .await
    }

    /// The ways the session's person can re-authenticate, for the page to offer only those.
    #[tracing::instrument(skip_all)]
    pub async fn reauth_methods(&self, principal: &Principal) -> AppResult<ReauthMethods> {
        principal.require_session()?;
        let mut tx = self.store.read().await?;
        let record = self.account_of(&mut tx, principal.user).await?;
        let code = tx
            .totp_of(record.id)
            .await?
            .is_some_and(|t| t.confirmed_at.is_some());
        let passkey = self.has_passkey(&mut tx, record.id).await?;
        Ok(ReauthMethods {
            // A password alone never stands in for a passkey.
            password: record.password_hash.is_some() && (code || !passkey),
            code,
            passkey,
        })
    }

    /// A failed re-authentication: recorded, and counted like a wrong password.
    pub(crate) async fn reauth_failed(
        &self,
        principal: &Principal,
        record: &ideaweave_store::records::UserRecord,
        buckets: &crate::identity::throttle::Buckets,
    ) -> AppResult<()> {
        self.audit_alone(AuditEvent {
            workspace: None,
            actor: Who::Person(record.id),
            action: AuditAction::SignInFailed,
            target: Target::Scope,
            outcome: Outcome::Failure,
            client: &principal.client,
            facts: json!({"reason": "re-authentication failed"}),
        })
        .await?;
        self.attempt_failed(buckets, Some((record.id, record.email.as_slice())))
            .await
    }

    /// A successful re-authentication: the session gets a new cookie that may do sensitive
    /// things for the next minutes, at its own level, and the event is recorded.
    pub(crate) async fn reauth_succeeded(
        &self,
        principal: &Principal,
        session: &crate::identity::auth::SessionFacts,
        attempt: &crate::identity::throttle::Attempt,
        facts: serde_json::Value,
    ) -> AppResult<RotatedSession> {
        let mut tx = self.store.begin().await?;
        let rotated = self
            .rotate_in(
                &mut tx,
                &session.cookie_hash,
                session.level,
                Some(self.now()),
            )
            .await?;
        self.audit_own(
            &mut tx,
            principal.user,
            &principal.client,
            AuditAction::Reauthenticated,
            Target::Scope,
            facts,
        )
        .await?;
        tx.commit().await?;
        self.attempt_succeeded(attempt).await?;
        Ok(rotated)
    }

    /// Finishes adding a second factor inside `tx`: the session gets a new cookie at its own
    /// level (it proved the factor, not a sign-in with it), the event is recorded, and the
    /// address is told.
    pub(crate) async fn factor_added(
        &self,
        tx: &mut ideaweave_store::Tx,
        principal: &Principal,
        session: &crate::identity::auth::SessionFacts,
        method: &str,
        notice: &str,
    ) -> AppResult<RotatedSession> {
        let rotated = self
            .rotate_in(tx, &session.cookie_hash, session.level, Some(self.now()))
            .await?;
        self.audit_own(
            tx,
            principal.user,
            &principal.client,
            AuditAction::MfaEnabled,
            Target::Person(principal.user),
            json!({ "method": method }),
        )
        .await?;
        self.tell_security_change(tx, principal.user, notice)
            .await?;
        Ok(rotated)
    }

    /// Emails the account's address that its sign-in changed (a factor added or removed), so
    /// that an attacker's change does not go unnoticed.
    pub(crate) async fn tell_security_change(
        &self,
        tx: &mut ideaweave_store::Tx,
        user: UserId,
        what: &str,
    ) -> AppResult<()> {
        let Some(record) = tx.user_by_id(user).await? else {
            return Ok(());
        };
        let Some(address) = self.account_address(tx, user, &record.email).await? else {
            return Ok(());
        };
        let text = format!(
            "{what} on your Ideaweave account ({address}).\n\nIf that was you, there is nothing \
             to do. If it was not, reset your password from the sign-in page at once, then check \
             Account › Security for sessions, authenticators and passkeys you do not know."
        );
        self.queue_account_mail(
            tx,
            &crate::platform::mail::plain_mail(
                address.as_str(),
                "Your Ideaweave sign-in was changed",
                text,
            ),
        )
        .await
    }

    /// Gives the session a new cookie and anti-CSRF token (its id stays), at `level`.
    pub(crate) async fn rotate_in(
        &self,
        tx: &mut ideaweave_store::Tx,
        cookie_hash: &[u8],
        level: AuthLevel,
        reauthenticated_at: Option<i64>,
    ) -> AppResult<RotatedSession> {
        let session = random_secret()?;
        let csrf = random_secret()?;
        if !tx
            .rotate_session(
                cookie_hash,
                &hash_secret(&session),
                &csrf,
                level.as_str(),
                reauthenticated_at,
            )
            .await?
        {
            return Err(AppError::Unauthenticated);
        }
        Ok(RotatedSession { session, csrf })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idn_02_recovery_codes_are_ten_characters_of_an_unambiguous_alphabet() {
        let a = recovery_code().unwrap();
        let b = recovery_code().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 11);
        assert_eq!(&a[5..6], "-");
        assert!(
            a.chars()
                .all(|c| c == '-' || CODE_ALPHABET.contains(&(c as u8)))
        );
        assert!(!a.contains(['o', 'l', 'i', 'u']));
    }

    #[test]
    fn idn_02_recovery_codes_match_whatever_their_case_and_spacing() {
        assert_eq!(recovery_hash("abcde-fghjk"), recovery_hash(" ABCDE fghjk "));
        assert_eq!(recovery_hash("a0c1e-fghjk"), recovery_hash("aOcLe-fghjk"));
        assert_ne!(recovery_hash("abcde-fghjk"), recovery_hash("abcde-fghjm"));
    }

    #[test]
    fn idn_02_totp_codes_follow_rfc_6238_and_the_qr_code_is_svg() {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (its last six digits with six digits).
        let totp = totp_for(b"12345678901234567890".to_vec(), "ann@example.org").unwrap();
        assert_eq!(totp.generate(59).to_string(), "287082");
        assert_eq!(totp.check("287082", 59), Some(1));
        assert_eq!(totp.check("287082", 59 + 90), None);
        let uri = totp.to_url().unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Ideaweave:ann%40example.org?"),
            "{uri}"
        );
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("<path d=\"M"));
    }
}
