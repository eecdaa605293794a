//! Who is calling: sessions, API tokens, passwords, and entering a workspace.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, PasswordHash};
use ideaweave_domain::policy::Actor;
use ideaweave_domain::{AuthLevel, Email, Password, TokenId, TokenScope, UserId, WorkspaceId};
use ideaweave_store::records::SessionRecord;

use crate::OrInternal;
use crate::platform::secrets::{hash_secret, parse_workspace_secret, random_secret};
use crate::trust::audit::{AuditAction, AuditEvent, ClientInfo, Outcome, Target, Who};
use crate::{App, AppError, AppResult, Member, parse_role};
use crate::{LoginInput, MeView, MembershipView, UserView};

/// The prefix of API tokens.
pub(crate) const TOKEN_PREFIX: &str = "iw";

/// A credential as presented by a client.
#[derive(Debug, Clone)]
pub enum Credential {
    /// `Authorization: Bearer …` with an API token.
    Bearer(String),
    /// The session cookie's value.
    Session(String),
}

/// An authenticated caller, before entering a workspace.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The person.
    pub user: UserId,
    /// The anti-CSRF token of a cookie session, which unsafe requests must echo in a header;
    /// `None` for API tokens, which browsers never send on their own.
    pub csrf: Option<String>,
    token: Option<TokenBinding>,
    /// The browser session this principal came with (`None` for an API token).
    pub session: Option<SessionFacts>,
    /// Where the request came from, for the audit trail; the web layer fills it in.
    pub client: ClientInfo,
}

/// What a session says of how its person signed in.
#[derive(Debug, Clone)]
pub struct SessionFacts {
    /// The session's public id (as listed under `GET /me/sessions`).
    pub id: uuid::Uuid,
    /// How strongly its person signed in.
    pub level: AuthLevel,
    /// When its person last proved who they are (sign-in or re-authentication).
    pub reauth_at: i64,
    /// Its person operates the instance: such sessions need two factors to enter anything.
    pub operator: bool,
    /// The SHA-256 of its cookie, to rotate or keep it.
    pub(crate) cookie_hash: Vec<u8>,
    /// The time zone its person chose to read times in (an IANA name), if any.
    pub time_zone: Option<String>,
}

impl Principal {
    /// Whether this is a workspace API token rather than a person's own session.
    pub fn is_api_token(&self) -> bool {
        self.token.is_some()
    }
}

#[derive(Debug, Clone)]
struct TokenBinding {
    workspace: WorkspaceId,
    slug: String,
    scope: TokenScope,
    role: String,
}

impl Principal {
    /// The workspace an API token is for (`None` for a session).
    pub(crate) fn token_workspace(&self) -> Option<(WorkspaceId, &str)> {
        self.token.as_ref().map(|t| (t.workspace, t.slug.as_str()))
    }

    /// True for a signed-in browser session, false for an API token.
    pub fn is_session(&self) -> bool {
        self.token.is_none()
    }

    /// Refuses API tokens: what belongs to the account (its sessions, factors, password) is
    /// for the person's own sessions, not for a token acting in one workspace.
    pub(crate) fn require_session(&self) -> AppResult<()> {
        if self.is_session() {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "sign in to see or change your account's security; API tokens cannot".into(),
            ))
        }
    }
}

/// How far a sign-in got: done, or waiting for the second factor.
#[derive(Debug, Clone)]
pub enum SignInStep {
    /// Signed in.
    Done(LoginOutcome),
    /// The password was right; the account asks for a second factor
    /// (`POST /session/second-factor` with the challenge).
    SecondFactor(crate::identity::mfa::SecondFactorChallenge),
}

impl SignInStep {
    /// The session, when no second factor was needed.
    pub fn done(self) -> Option<LoginOutcome> {
        match self {
            SignInStep::Done(l) => Some(l),
            SignInStep::SecondFactor(_) => None,
        }
    }
}

/// A successful sign-in.
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    /// The session cookie's value (secret).
    pub session: String,
    /// The anti-CSRF token for this session.
    pub csrf: String,
    /// Who signed in.
    pub user: UserView,
}

/// Argon2id with the crate's defaults (RFC 9106's second recommended option: m = 19 MiB, t = 2,
/// p = 1), which OWASP also recommends; the parameters are stored inside each hash, so raising
/// them later rehashes nobody's password silently wrong.
fn hasher() -> Argon2<'static> {
    Argon2::default()
}

/// Hashes a password on a blocking thread (it takes tens of milliseconds by design).
pub(crate) async fn hash_password(password: &Password) -> AppResult<String> {
    let pw = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        hasher()
            .hash_password(pw.as_bytes())
            .map(|h| h.to_string())
            .or_internal("hashing failed")
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))?
}

/// A hash to verify against when the account does not exist, so that a sign-in attempt for an
/// unknown address costs the same time as one for a known address.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        hasher()
            .hash_password(b"no such account, no such password")
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

pub(crate) async fn verify_password(hash: Option<String>, password: String) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let stored: String = hash.unwrap_or_else(|| dummy_hash().to_owned());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        let ok = hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        ok && known
    })
    .await
    .unwrap_or(false)
}

/// A principal from a live session row.
/// The audit entry of a refused sign-in.
fn sign_in_failed<'a>(who: Who, why: &'static str, client: &'a ClientInfo) -> AuditEvent<'a> {
    AuditEvent {
        workspace: None,
        actor: who,
        action: AuditAction::SignInFailed,
        target: Target::Scope,
        outcome: Outcome::Failure,
        client,
        facts: serde_json::json!({"reason": why}),
    }
}

fn session_principal(s: SessionRecord, cookie_hash: Vec<u8>, client: ClientInfo) -> Principal {
    Principal {
        user: s.user_id,
        csrf: Some(s.csrf_token),
        token: None,
        session: Some(SessionFacts {
            id: s.id,
            level: s.auth_level.parse().unwrap_or(AuthLevel::Password),
            reauth_at: s.reauth_at,
            operator: s.is_operator,
            cookie_hash,
            time_zone: s.time_zone,
        }),
        client,
    }
}

/// How long a session goes unmarked as used: its last-seen time is written at most this often,
/// so reading pages does not turn into a write per request.
const TOUCH_EVERY_MS: i64 = 60_000;

/// The member a signed-in principal is in a workspace where they hold `role`.
fn session_member(
    principal: &Principal,
    ws: &ideaweave_store::records::WorkspaceRecord,
    role: &str,
) -> AppResult<Member> {
    Ok(Member {
        client: principal.client.clone(),
        reauth_at: principal.session.as_ref().map(|s| s.reauth_at),
        support: None,
        workspace: ws.id,
        slug: ws.slug.clone(),
        actor: Actor {
            user: principal.user,
            role: parse_role(role)?,
            scope: None,
        },
    })
}

/// Refuses a session whose sign-in is weaker than the workspace asks of `role` (IDN-02). API
/// tokens pass: their creation needed a session that met the policy.
pub(crate) fn check_credential_policy(
    principal: &Principal,
    role: ideaweave_domain::Role,
    member_minimum: &str,
    admin_minimum: &str,
) -> AppResult<()> {
    let Some(session) = &principal.session else {
        return Ok(());
    };
    if session.operator && session.level < AuthLevel::Mfa {
        return Err(AppError::StrongerSignInRequired(
            "operator accounts must sign in with two-factor authentication: set it up under \
             Account › Security, then sign out and in again"
                .into(),
        ));
    }
    let admin = role >= ideaweave_domain::Role::Admin;
    let wanted: AuthLevel = if admin { admin_minimum } else { member_minimum }
        .parse()
        .unwrap_or(AuthLevel::Password);
    if session.level >= wanted {
        return Ok(());
    }
    let what = match wanted {
        AuthLevel::Passkey => "a passkey",
        _ => "two-factor authentication",
    };
    let whom = if admin { "its admins" } else { "its members" };
    Err(AppError::StrongerSignInRequired(format!(
        "this workspace asks {whom} to sign in with {what}: set it up under Account › Security, \
         then sign out and in again"
    )))
}

/// The start of the UTC day of `now` (Unix ms): last-active and last-used are kept to the day,
/// so they say who still uses the workspace without telling anyone's working hours, and are
/// written at most once a day per member and token.
fn start_of_day(now: i64) -> i64 {
    now - now.rem_euclid(ideaweave_domain::retention::DAY_MS)
}

/// A page request inside a workspace, as [`App::enter_with_session`] finds it.
#[derive(Debug)]
pub struct Entered {
    pub principal: Principal,
    pub member: Member,
    pub workspace: crate::WorkspaceView,
    /// The member's unread notifications, counted up to 100.
    pub unread: i64,
}

impl App {
    /// Turns a credential into a principal, or `Unauthenticated`.
    #[tracing::instrument(skip_all)]
    pub async fn authenticate(&self, credential: &Credential) -> AppResult<Principal> {
        let now = self.now();
        let mut tx = self.store.read().await?;
        match credential {
            Credential::Bearer(token) => {
                let (ws, hash) =
                    parse_workspace_secret(TOKEN_PREFIX, token).ok_or(AppError::Unauthenticated)?;
                let grant = tx
                    .token_grant(ws, &hash, now)
                    .await?
                    .ok_or(AppError::Unauthenticated)?;
                let scope = grant.scope.parse().map_err(AppError::internal)?;
                drop(tx);
                let today = start_of_day(now);
                if grant.last_used_on.is_none_or(|d| d < today) {
                    self.record_activity(ws, grant.user_id, Some(grant.token_id), today)
                        .await;
                }
                Ok(Principal {
                    user: grant.user_id,
                    csrf: None,
                    session: None,
                    client: ClientInfo::default(),
                    token: Some(TokenBinding {
                        workspace: ws,
                        slug: grant.slug,
                        scope,
                        role: grant.role,
                    }),
                })
            }
            Credential::Session(cookie) => {
                if cookie.len() != 43 {
                    return Err(AppError::Unauthenticated);
                }
                let hash = hash_secret(cookie);
                let s = tx
                    .session(&hash, now, self.idle_cutoff(now))
                    .await?
                    .ok_or(AppError::Unauthenticated)?;
                drop(tx);
                self.touch(&hash, s.last_seen_at, now).await?;
                Ok(session_principal(s, hash, ClientInfo::default()))
            }
        }
    }

    /// A page's way in, in one connection checkout: the session of `cookie`, its member in
    /// the workspace `slug`, the workspace with its stages and criteria, and the member's
    /// unread notifications (for the bell; none for support staff). It answers as
    /// [`Self::authenticate`], [`Self::enter`] and [`Self::workspace`] would one after the
    /// other (`Unauthenticated`, then a 404 for a workspace one is not a member of), with
    /// fewer round trips: a page's cost is its round trips (see BENCHMARKS.md).
    /// `request` (method and route) is recorded when the operator's support staff enter.
    #[tracing::instrument(skip_all)]
    pub async fn enter_with_session(
        &self,
        cookie: &str,
        slug: &str,
        client: ClientInfo,
        request: &str,
    ) -> AppResult<Entered> {
        if cookie.len() != 43 {
            return Err(AppError::Unauthenticated);
        }
        let mut tx = self.store.read().await?;
        let now = self.now();
        let hash = hash_secret(cookie);
        let (s, entry) = tx
            .session_in_workspace(&hash, now, self.idle_cutoff(now), slug)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let last_seen = s.last_seen_at;
        let principal = session_principal(s, hash, client);
        let Some(entry) = entry else {
            drop(tx);
            let (member, ws) = self
                .support_member(&principal, slug, Some(request))
                .await?
                .ok_or(AppError::NotFound("workspace"))?;
            let mut tx = self.store.read().await?;
            let view = self.workspace_view_in(&mut tx, ws, member.role()).await?;
            drop(tx);
            if let Some(facts) = &principal.session {
                self.touch(&facts.cookie_hash, last_seen, now).await?;
            }
            return Ok(Entered {
                principal,
                member,
                workspace: view,
                unread: 0,
            });
        };
        let member = session_member(&principal, &entry.workspace, &entry.role)?;
        check_credential_policy(
            &principal,
            member.role(),
            &entry.member_minimum,
            &entry.admin_minimum,
        )?;
        let ws = entry.workspace;
        member.allow(ideaweave_domain::policy::Action::ReadWorkspace)?;
        let view = self.workspace_view_in(&mut tx, ws, member.role()).await?;
        drop(tx);
        if let Some(facts) = &principal.session {
            self.touch(&facts.cookie_hash, last_seen, now).await?;
        }
        let today = start_of_day(now);
        if entry.last_active_on.is_none_or(|d| d < today) {
            self.record_activity(member.workspace, principal.user, None, today)
                .await;
        }
        Ok(Entered {
            principal,
            member,
            workspace: view,
            unread: entry.unread,
        })
    }

    /// Enters the workspace `slug` as `principal`. A workspace that does not exist and one the
    /// principal is not a member of are indistinguishable (404), as is using a token of another
    /// workspace (ACC-02).
    #[tracing::instrument(skip_all)]
    pub async fn enter(&self, principal: &Principal, slug: &str) -> AppResult<Member> {
        self.enter_for(principal, slug, None).await
    }

    /// [`Self::enter`] for a request (`request`: its method and route), which is recorded in
    /// the workspace's audit trail when the operator's support staff make it.
    #[tracing::instrument(skip_all)]
    pub async fn enter_for(
        &self,
        principal: &Principal,
        slug: &str,
        request: Option<&str>,
    ) -> AppResult<Member> {
        if let Some(t) = &principal.token {
            if t.slug != slug {
                return Err(AppError::NotFound("workspace"));
            }
            return Ok(Member {
                client: principal.client.clone(),
                reauth_at: None,
                support: None,
                workspace: t.workspace,
                slug: t.slug.clone(),
                actor: Actor {
                    user: principal.user,
                    role: parse_role(&t.role)?,
                    scope: Some(t.scope),
                },
            });
        }
        let mut tx = self.store.read().await?;
        let Some((ws, role)) = tx.membership_by_slug(principal.user, slug).await? else {
            drop(tx);
            return self
                .support_member(principal, slug, request)
                .await?
                .map(|(member, _)| member)
                .ok_or(AppError::NotFound("workspace"));
        };
        let member = session_member(principal, &ws, &role)?;
        let (member_min, admin_min) = tx
            .credential_policy(ws.id)
            .await?
            .unwrap_or_else(|| ("password".into(), "password".into()));
        check_credential_policy(principal, member.role(), &member_min, &admin_min)?;
        Ok(member)
    }

    /// Records that a member (and the token they used) was active on `day`. A failure is
    /// logged and the request goes on: the day is a convenience for admins, not worth
    /// refusing someone their page for.
    async fn record_activity(
        &self,
        ws: WorkspaceId,
        user: UserId,
        token: Option<TokenId>,
        day: i64,
    ) {
        let result = async {
            let mut tx = self.store.begin().await?;
            if let Some(token) = token {
                tx.mark_token_used(ws, token, day).await?;
            }
            tx.mark_member_active(ws, user, day).await?;
            tx.commit().await?;
            Ok::<(), AppError>(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "the day of activity could not be recorded");
        }
    }

    /// The oldest last-use a live session may have at `now` (the idle timeout).
    pub(crate) fn idle_cutoff(&self, now: i64) -> i64 {
        now.saturating_sub(
            i64::try_from(self.settings.session_idle.as_millis()).unwrap_or(i64::MAX),
        )
    }

    /// Marks a session used, at most once a minute.
    async fn touch(&self, cookie_hash: &[u8], last_seen: i64, now: i64) -> AppResult<()> {
        if now - last_seen < TOUCH_EVERY_MS {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        tx.touch_session(cookie_hash, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Signs in with email and password. Unknown addresses and wrong passwords get the same
    /// answer after the same work, so sign-in does not reveal who has an account, and failures
    /// are counted per address and per client with exponential back-off (IDN-04) whether or not
    /// the address has an account. Every attempt is recorded in the audit trail, the failed
    /// ones under the account's pseudonym when the address belongs to one. An account with a
    /// second factor gets a challenge instead of a session, unless its code came with the
    /// password; password and code together also pass a block of the address (see
    /// [`App::login_past_block`]).
    #[tracing::instrument(skip_all)]
    pub async fn login(&self, input: &LoginInput, client: &ClientInfo) -> AppResult<SignInStep> {
        let bad = || AppError::Forbidden("the email address or password is not correct".into());
        let buckets = self.sign_in_buckets(&input.email, client)?;
        let attempt = match self.begin_attempt(&buckets).await {
            Ok(attempt) => attempt,
            Err(blocked @ AppError::TooManyAttempts { .. }) if input.has_code() => {
                return self
                    .login_past_block(input, &buckets, blocked, client)
                    .await;
            }
            Err(e) => return Err(e),
        };
        if input.password.len() > Password::MAX_CHARS * 4 {
            self.audit_alone(sign_in_failed(Who::Nobody, "password too long", client))
                .await?;
            return Err(bad());
        }
        let mut tx = self.store.read().await?;
        let user = self.account_of_sign_in(&mut tx, &input.email).await?;
        let hash = user.as_ref().and_then(|u| u.password_hash.clone());
        if !verify_password(hash, input.password.clone()).await {
            drop(tx);
            let who = user.as_ref().map_or(Who::Nobody, |u| Who::Person(u.id));
            self.audit_alone(sign_in_failed(who, "wrong credentials", client))
                .await?;
            self.attempt_failed(&buckets, user.as_ref().map(|u| (u.id, u.email.as_slice())))
                .await?;
            return Err(bad());
        }
        let user = user.ok_or_else(bad)?;
        let mut methods = Vec::new();
        if tx
            .totp_of(user.id)
            .await?
            .is_some_and(|t| t.confirmed_at.is_some())
        {
            methods.extend(["totp", "recovery_code"]);
        }
        if self.has_passkey(&mut tx, user.id).await? {
            methods.push("passkey");
        }
        drop(tx);
        if !methods.is_empty() && input.has_code() {
            let mut tx = self.store.begin().await?;
            let now = self.now();
            let Some(method) = self
                .check_code_in(
                    &mut tx,
                    user.id,
                    input.code.as_deref(),
                    input.recovery_code.as_deref(),
                    now,
                )
                .await?
            else {
                drop(tx);
                self.audit_alone(sign_in_failed(
                    Who::Person(user.id),
                    "wrong second factor",
                    client,
                ))
                .await?;
                self.attempt_failed(&buckets, Some((user.id, user.email.as_slice())))
                    .await?;
                return Err(AppError::Forbidden(
                    "that code is not correct (or was used already)".into(),
                ));
            };
            self.record_code_use(&mut tx, user.id, method, client)
                .await?;
            tx.commit().await?;
            self.attempt_succeeded(&attempt).await?;
            return self
                .signed_in(&user, client, AuthLevel::Mfa)
                .await
                .map(SignInStep::Done);
        }
        if !methods.is_empty() {
            self.attempt_pending(&attempt).await?;
            return Ok(SignInStep::SecondFactor(
                self.second_factor_challenge(user.id, methods).await?,
            ));
        }
        self.attempt_succeeded(&attempt).await?;
        self.signed_in(&user, client, AuthLevel::Password)
            .await
            .map(SignInStep::Done)
    }

    /// A sign-in while the address is blocked by failed attempts (issue 19, finding 8): the
    /// block is there to stop guessing, and someone else's guesses must not lock the owner out.
    /// The right password together with a current authenticator or recovery code passes it;
    /// anything else gets exactly the answer the block gave (the same wait, whatever was
    /// wrong), so the block still reveals nothing about the password. Both are checked every
    /// time, and the code is only used up when both were right. Attempts here count against
    /// the client, which still limits how many any one client may make.
    async fn login_past_block(
        &self,
        input: &LoginInput,
        buckets: &crate::identity::throttle::Buckets,
        blocked: AppError,
        client: &ClientInfo,
    ) -> AppResult<SignInStep> {
        let client_only = buckets.client_only();
        let attempt = self.begin_attempt(&client_only).await?;
        let user = {
            let mut tx = self.store.read().await?;
            self.account_of_sign_in(&mut tx, &input.email).await?
        };
        let hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let password_ok = input.password.len() <= Password::MAX_CHARS * 4
            && verify_password(hash, input.password.clone()).await;
        let mut tx = self.store.begin().await?;
        let method = match &user {
            Some(u) => {
                self.check_code_in(
                    &mut tx,
                    u.id,
                    input.code.as_deref(),
                    input.recovery_code.as_deref(),
                    self.now(),
                )
                .await?
            }
            None => None,
        };
        let (Some(user), Some(method), true) = (user.as_ref(), method, password_ok) else {
            // Rolled back: a right code sent with a wrong password stays unused.
            drop(tx);
            let who = user.as_ref().map_or(Who::Nobody, |u| Who::Person(u.id));
            self.audit_alone(sign_in_failed(
                who,
                "wrong credentials while slowed down",
                client,
            ))
            .await?;
            self.attempt_failed(&client_only, None).await?;
            return Err(blocked);
        };
        self.record_code_use(&mut tx, user.id, method, client)
            .await?;
        tx.commit().await?;
        self.attempt_succeeded(&attempt.settled_as(buckets)).await?;
        self.signed_in(user, client, AuthLevel::Mfa)
            .await
            .map(SignInStep::Done)
    }

    /// The account a sign-in names, when the address is well-formed and has one.
    async fn account_of_sign_in(
        &self,
        tx: &mut ideaweave_store::Tx,
        email: &str,
    ) -> AppResult<Option<ideaweave_store::records::UserRecord>> {
        match Email::parse(email) {
            Ok(e) => self.account_by_email(tx, &e).await,
            Err(_) => Ok(None),
        }
    }

    /// Starts a session for `user` and describes it.
    pub(crate) async fn signed_in(
        &self,
        user: &ideaweave_store::records::UserRecord,
        client: &ClientInfo,
        level: AuthLevel,
    ) -> AppResult<LoginOutcome> {
        let view = {
            let mut tx = self.store.read().await?;
            self.user_view(&mut tx, user).await?
        };
        let (session, csrf) = self.start_session(user.id, client, level).await?;
        Ok(LoginOutcome {
            session,
            csrf,
            user: view,
        })
    }

    pub(crate) async fn start_session(
        &self,
        user: UserId,
        client: &ClientInfo,
        level: AuthLevel,
    ) -> AppResult<(String, String)> {
        let session = random_secret()?;
        let csrf = random_secret()?;
        let now = self.now();
        let expires = now + self.settings.session_ttl.as_millis() as i64;
        let id = uuid::Uuid::new_v4();
        let mut tx = self.store.begin().await?;
        let sealed_client = self.seal_client(&mut tx, user, id, client, now).await?;
        tx.insert_session(
            ideaweave_store::NewSession {
                id,
                token_hash: &hash_secret(&session),
                user,
                csrf_token: &csrf,
                expires_at: expires,
                auth_level: level.as_str(),
                client: sealed_client.as_deref(),
            },
            now,
        )
        .await?;
        self.audit_own(
            &mut tx,
            user,
            client,
            AuditAction::SignIn,
            Target::Scope,
            serde_json::json!({"level": level.as_str()}),
        )
        .await?;
        tx.commit().await?;
        Ok((session, csrf))
    }

    /// Signs out: the session ends at once.
    #[tracing::instrument(skip_all)]
    pub async fn logout(&self, session_cookie: &str, client: &ClientInfo) -> AppResult<()> {
        let hash = hash_secret(session_cookie);
        let mut tx = self.store.begin().await?;
        let now = self.now();
        if let Some(s) = tx.session(&hash, now, self.idle_cutoff(now)).await? {
            self.audit_own(
                &mut tx,
                s.user_id,
                client,
                AuditAction::SignOut,
                Target::Scope,
                serde_json::Value::Null,
            )
            .await?;
        }
        tx.delete_session(&hash).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The caller's account and workspaces.
    #[tracing::instrument(skip_all)]
    pub async fn me(&self, principal: &Principal) -> AppResult<MeView> {
        let mut tx = self.store.read().await?;
        let user = self.account_of(&mut tx, principal.user).await?;
        let mut workspaces = Vec::new();
        for m in tx.memberships_of(principal.user).await? {
            if principal
                .token
                .as_ref()
                .is_some_and(|t| t.workspace != m.workspace_id)
            {
                continue;
            }
            workspaces.push(MembershipView {
                name: self
                    .workspace_name(&mut tx, m.workspace_id, &m.name)
                    .await?,
                slug: m.slug,
                role: parse_role(&m.role)?,
            });
        }
        Ok(MeView {
            user: self.user_view(&mut tx, &user).await?,
            workspaces,
        })
    }

    /// Changes one's own display name: sealed under one's account key like the old one, and
    /// shown everywhere one's name appears from the next page on. Only a signed-in session may
    /// do it; an API token acts inside one workspace, and the name belongs to the account.
    #[tracing::instrument(skip_all)]
    pub async fn rename_account(
        &self,
        principal: &Principal,
        input: crate::AccountPatch,
    ) -> AppResult<UserView> {
        if !principal.is_session() {
            return Err(AppError::Forbidden(
                "sign in to change your account; API tokens cannot".into(),
            ));
        }
        let name = ideaweave_domain::PersonName::parse(&input.name)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let key = self
            .keyring
            .account_key(&mut tx, principal.user, now)
            .await?;
        let sealed = key.seal(
            &crate::platform::sealed::account(
                crate::platform::sealed::column::USERS_NAME,
                principal.user,
            ),
            name.as_str().as_bytes(),
        )?;
        if !tx.set_user_name(principal.user, &sealed).await? {
            return Err(AppError::Unauthenticated);
        }
        self.audit_own(
            &mut tx,
            principal.user,
            &principal.client,
            AuditAction::AccountRenamed,
            Target::Person(principal.user),
            serde_json::Value::Null,
        )
        .await?;
        let user = self.account_of(&mut tx, principal.user).await?;
        let view = self.user_view(&mut tx, &user).await?;
        tx.commit().await?;
        Ok(view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idn_01_passwords_hash_with_argon2id_and_verify() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let pw = Password::parse("correct horse battery").unwrap();
            let h = hash_password(&pw).await.unwrap();
            assert!(h.starts_with("$argon2id$"));
            assert!(verify_password(Some(h.clone()), "correct horse battery".into()).await);
            assert!(!verify_password(Some(h), "wrong horse battery".into()).await);
            assert!(!verify_password(None, "anything at all".into()).await);
        });
    }
}
