//! WebAuthn passkeys (IDN-02): registered from a signed-in session, used to sign in without a
//! password (discoverable credentials, user verification required) and as the second factor
//! after a password. Verification is webauthn-rs's; the ceremony state between the two halves
//! of each exchange lives in the database (sealed with the account key when it names a
//! person), so any node can finish what another began.

use std::sync::OnceLock;

use ideaweave_domain::{AuthLevel, UserId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::*;

use crate::OrInternal;
use crate::identity::auth::{LoginOutcome, Principal};
use crate::identity::mfa::RotatedSession;
use crate::platform::sealed::column;
use crate::platform::sealed::{account, account_row};
use crate::platform::secrets::hash_secret;
use crate::trust::audit::{AuditAction, ClientInfo, Target};
use crate::{App, AppError, AppResult};

/// How long a ceremony may take.
const CEREMONY_TTL_MS: i64 = 5 * 60_000;
/// Longest passkey name.
const MAX_NAME_CHARS: usize = 100;

/// The browser's half of a ceremony: pass `options` to `navigator.credentials.create()` or
/// `.get()` (as `PublicKeyCredential.parse…OptionsFromJSON(options.publicKey)`), then send the
/// result back with `ceremony`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PasskeyOptions {
    /// The ceremony to finish.
    pub ceremony: uuid::Uuid,
    /// WebAuthn options as JSON (`publicKey`: challenge, relying party, user, credentials).
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

/// A passkey to add: the ceremony, a name for it, and the browser's credential
/// (`PublicKeyCredential.toJSON()`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRegistrationInput {
    pub ceremony: uuid::Uuid,
    /// What the person calls it ("laptop", "phone"); up to 100 characters.
    #[serde(default)]
    pub name: Option<String>,
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// A passkey's assertion: the ceremony and the browser's credential (`toJSON()`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyAssertionInput {
    pub ceremony: uuid::Uuid,
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// One of a person's passkeys.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PasskeyView {
    pub id: uuid::Uuid,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

fn webauthn_error(what: &str) -> impl Fn(WebauthnError) -> AppError + '_ {
    move |e| {
        tracing::info!(error = %e, "a passkey {what} was refused");
        AppError::Forbidden(format!(
            "the passkey {what} could not be verified; try again"
        ))
    }
}

fn credential_hash(id: &[u8]) -> Vec<u8> {
    Sha256::digest(id).to_vec()
}

fn to_json<T: Serialize>(v: &T) -> AppResult<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| AppError::internal(e.to_string()))
}

fn parse<T: serde::de::DeserializeOwned>(field: &str, v: serde_json::Value) -> AppResult<T> {
    serde_json::from_value(v).map_err(|e| {
        AppError::invalid(
            field,
            format!("is not a WebAuthn credential of this kind: {e}"),
        )
    })
}

impl App {
    /// The relying party: this instance, as people reach it (`public_url`). Built on first use;
    /// browsers accept passkeys only on a domain name (or `localhost`) over HTTPS or loopback.
    fn webauthn(&self) -> AppResult<&Webauthn> {
        static NOT_SET: &str = "passkeys need public_url to be this instance's https:// address \
                                (or http://localhost) with a domain name";
        let cell: &OnceLock<Result<Webauthn, String>> = &self.webauthn;
        let built = cell.get_or_init(|| {
            let url = Url::parse(&self.settings.public_url).map_err(|e| e.to_string())?;
            let host = url.host_str().ok_or("no host")?.to_owned();
            if host.parse::<std::net::IpAddr>().is_ok() {
                return Err("an IP address cannot be a WebAuthn relying party".into());
            }
            WebauthnBuilder::new(&host, &url)
                .and_then(|b| b.rp_name("Ideaweave").build())
                .map_err(|e| e.to_string())
        });
        built.as_ref().map_err(|why| {
            tracing::warn!(%why, "passkeys are unavailable");
            AppError::Conflict(NOT_SET.into())
        })
    }

    async fn passkeys_opened(
        &self,
        tx: &mut ideaweave_store::Tx,
        user: UserId,
    ) -> AppResult<Vec<(ideaweave_store::PasskeyRecord, Passkey)>> {
        let mut out = Vec::new();
        for r in tx.passkeys_of(user).await? {
            let Some(bytes) = self
                .keyring
                .open(
                    tx,
                    &account_row(column::PASSKEYS_CREDENTIAL, r.id),
                    &r.credential,
                )
                .await?
            else {
                continue;
            };
            let key: Passkey = serde_json::from_slice(&bytes)
                .map_err(|e| AppError::Integrity(format!("passkey {}: {e}", r.id)))?;
            out.push((r, key));
        }
        Ok(out)
    }

    /// Whether `user` has a passkey.
    pub(crate) async fn has_passkey(
        &self,
        tx: &mut ideaweave_store::Tx,
        user: UserId,
    ) -> AppResult<bool> {
        Ok(!tx.passkeys_of(user).await?.is_empty())
    }

    /// Starts adding a passkey (after a recent re-authentication).
    #[tracing::instrument(skip_all)]
    pub async fn start_passkey_registration(
        &self,
        principal: &Principal,
    ) -> AppResult<PasskeyOptions> {
        self.require_recent_auth(principal)?;
        let webauthn = self.webauthn()?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let user = self.account_of(&mut tx, principal.user).await?;
        let address = self
            .account_address(&mut tx, user.id, &user.email)
            .await?
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default();
        let name = self
            .keyring
            .open_text(&mut tx, &account(column::USERS_NAME, user.id), &user.name)
            .await?
            .unwrap_or_default();
        let exclude: Vec<CredentialID> = self
            .passkeys_opened(&mut tx, user.id)
            .await?
            .iter()
            .map(|(_, k)| k.cred_id().clone())
            .collect();
        let (options, state) = webauthn
            .start_passkey_registration(user.id.0, &address, &name, Some(exclude))
            .or_internal("passkey registration")?;
        let id = uuid::Uuid::new_v4();
        let key = self.keyring.account_key(&mut tx, user.id, now).await?;
        let sealed = key.seal(
            &account_row(column::WEBAUTHN_CEREMONIES_STATE, id),
            &serde_json::to_vec(&state).map_err(|e| AppError::internal(e.to_string()))?,
        )?;
        tx.insert_ceremony(
            id,
            Some(user.id),
            "register",
            &sealed,
            None,
            now + CEREMONY_TTL_MS,
        )
        .await?;
        tx.commit().await?;
        // Discoverable (resident) credentials, so that the passkey alone signs in: the
        // authenticator keeps the account's handle and offers it when asked.
        let mut options = to_json(&options)?;
        if let Some(sel) = options
            .pointer_mut("/publicKey/authenticatorSelection")
            .and_then(serde_json::Value::as_object_mut)
        {
            sel.insert("residentKey".into(), json!("required"));
            sel.insert("requireResidentKey".into(), json!(true));
        }
        Ok(PasskeyOptions {
            ceremony: id,
            options,
        })
    }

    /// Finishes adding a passkey: verified, stored (sealed), and this session, having just used
    /// it with user verification, counts as a passkey sign-in under a new cookie.
    #[tracing::instrument(skip_all)]
    pub async fn finish_passkey_registration(
        &self,
        principal: &Principal,
        input: PasskeyRegistrationInput,
    ) -> AppResult<(PasskeyView, RotatedSession)> {
        let session = principal
            .session
            .as_ref()
            .ok_or_else(|| AppError::Forbidden("sign in to do this; API tokens cannot".into()))?;
        let webauthn = self.webauthn()?;
        let name = input
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or("Passkey")
            .to_owned();
        if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(AppError::invalid(
                "name",
                format!("must be at most {MAX_NAME_CHARS} characters, without control characters"),
            ));
        }
        let credential: RegisterPublicKeyCredential = parse("credential", input.credential)?;
        let now = self.now();
        // Spent whatever comes of it: a ceremony answers one attempt.
        let ceremony = {
            let mut tx = self.store.begin().await?;
            let c = tx.take_ceremony(input.ceremony, now).await?;
            tx.commit().await?;
            c.filter(|c| c.kind == "register" && c.user_id == Some(principal.user.0))
                .ok_or(AppError::NotFound("passkey ceremony"))?
        };
        let mut tx = self.store.begin().await?;
        let state = self
            .keyring
            .open(
                &mut tx,
                &account_row(column::WEBAUTHN_CEREMONIES_STATE, input.ceremony),
                &ceremony.state,
            )
            .await?
            .ok_or(AppError::NotFound("passkey ceremony"))?;
        let state: PasskeyRegistration = serde_json::from_slice(&state)
            .map_err(|e| AppError::Integrity(format!("ceremony state: {e}")))?;
        let passkey = webauthn
            .finish_passkey_registration(&credential, &state)
            .map_err(webauthn_error("registration"))?;
        let id = uuid::Uuid::new_v4();
        let key = self
            .keyring
            .account_key(&mut tx, principal.user, now)
            .await?;
        let sealed_credential = key.seal(
            &account_row(column::PASSKEYS_CREDENTIAL, id),
            &serde_json::to_vec(&passkey).map_err(|e| AppError::internal(e.to_string()))?,
        )?;
        let sealed_name = key.seal(&account_row(column::PASSKEYS_NAME, id), name.as_bytes())?;
        let added = tx
            .insert_passkey(
                ideaweave_store::NewPasskey {
                    id,
                    user: principal.user,
                    credential_hash: &credential_hash(passkey.cred_id().as_ref()),
                    credential: &sealed_credential,
                    name: &sealed_name,
                },
                now,
            )
            .await?;
        if !added {
            return Err(AppError::Conflict(
                "this passkey is registered already".into(),
            ));
        }
        let rotated = self
            .factor_added(
                &mut tx,
                principal,
                session,
                "passkey",
                "A passkey was added",
            )
            .await?;
        tx.commit().await?;
        Ok((
            PasskeyView {
                id,
                name,
                created_at: now,
                last_used_at: None,
            },
            rotated,
        ))
    }

    /// The caller's passkeys.
    #[tracing::instrument(skip_all)]
    pub async fn passkeys(&self, principal: &Principal) -> AppResult<Vec<PasskeyView>> {
        principal.require_session()?;
        let mut tx = self.store.read().await?;
        let mut out = Vec::new();
        for r in tx.passkeys_of(principal.user).await? {
            let name = self
                .keyring
                .open_text(&mut tx, &account_row(column::PASSKEYS_NAME, r.id), &r.name)
                .await?
                .unwrap_or_default();
            out.push(PasskeyView {
                id: r.id,
                name,
                created_at: r.created_at,
                last_used_at: r.last_used_at,
            });
        }
        Ok(out)
    }

    /// Removes one of the caller's passkeys (after a recent re-authentication).
    #[tracing::instrument(skip_all)]
    pub async fn remove_passkey(&self, principal: &Principal, id: uuid::Uuid) -> AppResult<()> {
        self.require_recent_auth(principal)?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_passkey(principal.user, id).await? {
            return Err(AppError::NotFound("passkey"));
        }
        self.audit_own(
            &mut tx,
            principal.user,
            &principal.client,
            AuditAction::MfaDisabled,
            Target::Thing("passkey", id),
            json!({"method": "passkey"}),
        )
        .await?;
        self.tell_security_change(&mut tx, principal.user, "A passkey was removed")
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Starts a sign-in with a passkey and nothing else: the browser offers the passkeys it
    /// holds for this site.
    #[tracing::instrument(skip_all)]
    pub async fn start_passkey_sign_in(&self) -> AppResult<PasskeyOptions> {
        let webauthn = self.webauthn()?;
        let (mut options, state) = webauthn
            .start_discoverable_authentication()
            .or_internal("passkey sign-in")?;
        // A button press, not the browser's autofill (conditional mediation).
        options.mediation = None;
        let id = uuid::Uuid::new_v4();
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let state = serde_json::to_vec(&state).map_err(|e| AppError::internal(e.to_string()))?;
        tx.insert_ceremony(id, None, "sign_in", &state, None, now + CEREMONY_TTL_MS)
            .await?;
        tx.commit().await?;
        Ok(PasskeyOptions {
            ceremony: id,
            options: to_json(&options)?,
        })
    }

    /// Finishes a passkey sign-in. Failures count against the client address (IDN-04).
    #[tracing::instrument(skip_all)]
    pub async fn finish_passkey_sign_in(
        &self,
        input: PasskeyAssertionInput,
        client: &ClientInfo,
    ) -> AppResult<LoginOutcome> {
        let webauthn = self.webauthn()?;
        // Only the client's counter: there is no address to count against, and one shared
        // counter would let anybody lock everybody out of passkey sign-in.
        let buckets = self.client_buckets(client)?;
        let attempt = self.begin_attempt(&buckets).await?;
        let credential: PublicKeyCredential = parse("credential", input.credential)?;
        let now = self.now();
        let state = {
            let mut tx = self.store.begin().await?;
            let c = tx.take_ceremony(input.ceremony, now).await?;
            tx.commit().await?;
            c.filter(|c| c.kind == "sign_in")
                .ok_or(AppError::NotFound("passkey ceremony"))?
        };
        let state: DiscoverableAuthentication = serde_json::from_slice(&state.state)
            .map_err(|e| AppError::Integrity(format!("ceremony state: {e}")))?;
        let verified = self
            .verify_passkey_assertion(&credential, None, |cred, key| {
                webauthn.finish_discoverable_authentication_v2(cred, state.clone(), key)
            })
            .await;
        let user = match verified {
            Ok(user) => user,
            Err(e) => {
                self.attempt_failed(&buckets, None).await?;
                return Err(e);
            }
        };
        self.attempt_succeeded(&attempt).await?;
        let (session, csrf) = self.start_session(user, client, AuthLevel::Passkey).await?;
        let mut tx = self.store.read().await?;
        let record = tx
            .user_by_id(user)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let view = self.user_view(&mut tx, &record).await?;
        Ok(LoginOutcome {
            session,
            csrf,
            user: view,
        })
    }

    /// Checks a passkey assertion with `finish` against the stored passkey it names (of
    /// `user`, when the person is known), updates the passkey's counter, and returns its person.
    async fn verify_passkey_assertion(
        &self,
        credential: &PublicKeyCredential,
        user: Option<UserId>,
        finish: impl FnOnce(&PublicKeyCredential, &Passkey) -> WebauthnResult<AuthenticationResult>,
    ) -> AppResult<UserId> {
        let refused = || AppError::Forbidden("that passkey is not registered here".into());
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let record = tx
            .passkey_by_credential(&credential_hash(credential.get_credential_id()))
            .await?
            .filter(|r| user.is_none_or(|u| r.user_id == u))
            .ok_or_else(refused)?;
        if let Some(handle) = credential.get_user_unique_id()
            && handle != record.user_id.0.as_bytes()
        {
            return Err(refused());
        }
        let bytes = self
            .keyring
            .open(
                &mut tx,
                &account_row(column::PASSKEYS_CREDENTIAL, record.id),
                &record.credential,
            )
            .await?
            .ok_or_else(refused)?;
        let mut key: Passkey = serde_json::from_slice(&bytes)
            .map_err(|e| AppError::Integrity(format!("passkey {}: {e}", record.id)))?;
        let result = finish(credential, &key).map_err(webauthn_error("sign-in"))?;
        if !result.user_verified() {
            return Err(AppError::Forbidden(
                "the passkey did not verify you (PIN or biometrics); try again".into(),
            ));
        }
        key.update_credential(&result);
        let account_key = self
            .keyring
            .account_key(&mut tx, record.user_id, now)
            .await?;
        let sealed = account_key.seal(
            &account_row(column::PASSKEYS_CREDENTIAL, record.id),
            &serde_json::to_vec(&key).map_err(|e| AppError::internal(e.to_string()))?,
        )?;
        tx.passkey_used(record.id, &sealed, now).await?;
        tx.commit().await?;
        Ok(record.user_id)
    }

    /// The passkey options for the second step of a password sign-in.
    #[tracing::instrument(skip_all)]
    pub async fn passkey_second_factor_options(
        &self,
        challenge: &str,
    ) -> AppResult<PasskeyOptions> {
        self.webauthn()?;
        let void = || {
            AppError::Forbidden(
                "this sign-in has expired or had too many wrong codes; sign in again".into(),
            )
        };
        if challenge.len() != 43 {
            return Err(void());
        }
        let hash = hash_secret(challenge);
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let (user, attempts) = tx
            .attempt_sign_in_challenge(&hash, now)
            .await?
            .ok_or_else(void)?;
        if attempts > crate::identity::mfa::CHALLENGE_ATTEMPTS {
            return Err(void());
        }
        let options = self
            .start_assertion(&mut tx, user, "second_factor", &hash)
            .await?;
        tx.commit().await?;
        Ok(options)
    }

    /// Starts a ceremony in `tx` in which `user` answers with one of their own passkeys: its
    /// state sealed with their account key, and bound to `binding` (what must be shown again to
    /// finish it: a sign-in challenge's hash, or the session's id).
    async fn start_assertion(
        &self,
        tx: &mut ideaweave_store::Tx,
        user: UserId,
        kind: &str,
        binding: &[u8],
    ) -> AppResult<PasskeyOptions> {
        let webauthn = self.webauthn()?;
        let now = self.now();
        let keys: Vec<Passkey> = self
            .passkeys_opened(tx, user)
            .await?
            .into_iter()
            .map(|(_, k)| k)
            .collect();
        if keys.is_empty() {
            return Err(AppError::Conflict("this account has no passkey".into()));
        }
        let (options, state) = webauthn
            .start_passkey_authentication(&keys)
            .or_internal("passkey authentication")?;
        let id = uuid::Uuid::new_v4();
        let key = self.keyring.account_key(tx, user, now).await?;
        let sealed = key.seal(
            &account_row(column::WEBAUTHN_CEREMONIES_STATE, id),
            &serde_json::to_vec(&state).map_err(|e| AppError::internal(e.to_string()))?,
        )?;
        tx.insert_ceremony(
            id,
            Some(user),
            kind,
            &sealed,
            Some(binding),
            now + CEREMONY_TTL_MS,
        )
        .await?;
        Ok(PasskeyOptions {
            ceremony: id,
            options: to_json(&options)?,
        })
    }

    /// Takes (once) the ceremony `id` started by [`Self::start_assertion`] for `user`, `kind`
    /// and `binding`, and opens its state; `None` when there is no such ceremony (expired,
    /// used, someone else's, or bound to something else).
    async fn take_assertion(
        &self,
        id: uuid::Uuid,
        user: UserId,
        kind: &str,
        binding: &[u8],
    ) -> AppResult<Option<PasskeyAuthentication>> {
        let now = self.now();
        let ceremony = {
            let mut tx = self.store.begin().await?;
            let c = tx.take_ceremony(id, now).await?;
            tx.commit().await?;
            c
        };
        let Some(ceremony) = ceremony.filter(|c| {
            c.kind == kind
                && c.user_id == Some(user.0)
                && c.sign_in_challenge.as_deref() == Some(binding)
        }) else {
            return Ok(None);
        };
        let mut tx = self.store.read().await?;
        let Some(state) = self
            .keyring
            .open(
                &mut tx,
                &account_row(column::WEBAUTHN_CEREMONIES_STATE, id),
                &ceremony.state,
            )
            .await?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&state)
            .map(Some)
            .map_err(|e| AppError::Integrity(format!("ceremony state: {e}")))
    }

    /// Checks a passkey answer to the second step of `user`'s sign-in (challenge hash
    /// `challenge`); true when it verified.
    pub(crate) async fn check_passkey_second_factor(
        &self,
        user: UserId,
        challenge: &[u8],
        input: &PasskeyAssertionInput,
    ) -> AppResult<bool> {
        let webauthn = self.webauthn()?;
        let Ok(credential) = parse::<PublicKeyCredential>("passkey", input.credential.clone())
        else {
            return Ok(false);
        };
        let Some(state) = self
            .take_assertion(input.ceremony, user, "second_factor", challenge)
            .await?
        else {
            return Ok(false);
        };
        Ok(self
            .verify_passkey_assertion(&credential, Some(user), |cred, _| {
                webauthn.finish_passkey_authentication(cred, &state)
            })
            .await
            .is_ok())
    }

    /// Starts a re-authentication with one of the session's person's passkeys. The ceremony is
    /// bound to this session: another session (even of the same person) cannot finish it.
    #[tracing::instrument(skip_all)]
    pub async fn start_passkey_reauth(&self, principal: &Principal) -> AppResult<PasskeyOptions> {
        let session = principal
            .session
            .as_ref()
            .ok_or_else(|| AppError::Forbidden("sign in to do this; API tokens cannot".into()))?;
        let mut tx = self.store.begin().await?;
        let options = self
            .start_assertion(&mut tx, principal.user, "reauth", session.id.as_bytes())
            .await?;
        tx.commit().await?;
        Ok(options)
    }

    /// Finishes a re-authentication with a passkey: the session gets a new cookie that may do
    /// sensitive things for the next minutes. A failure counts like a wrong password (IDN-04).
    #[tracing::instrument(skip_all)]
    pub async fn finish_passkey_reauth(
        &self,
        principal: &Principal,
        input: PasskeyAssertionInput,
    ) -> AppResult<RotatedSession> {
        let session = principal
            .session
            .as_ref()
            .ok_or_else(|| AppError::Forbidden("sign in to do this; API tokens cannot".into()))?;
        let webauthn = self.webauthn()?;
        let credential: PublicKeyCredential = parse("credential", input.credential)?;
        let (record, address) = {
            let mut tx = self.store.read().await?;
            let record = self.account_of(&mut tx, principal.user).await?;
            let address = self.caller_address(&mut tx, &record).await?;
            (record, address)
        };
        let buckets = self.sign_in_buckets(address.as_str(), &principal.client)?;
        let attempt = self.begin_attempt(&buckets).await?;
        let state = self
            .take_assertion(
                input.ceremony,
                principal.user,
                "reauth",
                session.id.as_bytes(),
            )
            .await?;
        let verified = match state {
            Some(state) => {
                self.verify_passkey_assertion(&credential, Some(principal.user), |cred, _| {
                    webauthn.finish_passkey_authentication(cred, &state)
                })
                .await
            }
            None => Err(AppError::Forbidden(
                "this confirmation has expired or belongs to another sign-in; try again".into(),
            )),
        };
        if let Err(e) = verified {
            self.reauth_failed(principal, &record, &buckets).await?;
            return Err(e);
        }
        self.reauth_succeeded(principal, session, &attempt, json!({"method": "passkey"}))
            .await
    }

    /// Deletes WebAuthn ceremonies that expired (the retention job).
    pub(crate) async fn purge_ceremonies(&self, tx: &mut ideaweave_store::Tx) -> AppResult<()> {
        tx.purge_ceremonies(self.now()).await?;
        Ok(())
    }
}
