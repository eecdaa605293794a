//! OpenID Connect single sign-on per workspace (IDN-03): the authorisation code flow with PKCE
//! and a nonce, the provider found by discovery, the ID token validated by `openidconnect`
//! (signature against the provider's keys, issuer, audience, expiry, nonce), members created on
//! first sign-in from allowed address domains or groups, and RP-initiated logout.
//!
//! Accounts are matched by the provider's subject, never by address alone: a provider that
//! asserts somebody's address cannot take over their account. An existing account is linked
//! only when its person asks for it from their security page (a CSRF-protected form, after a
//! recent re-authentication) and comes back signed in to it. A sign-in is finished only by the
//! browser that started it (a cookie), so a link to someone else's callback signs nobody in.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ideaweave_domain::policy::Action;
use ideaweave_domain::{AuthLevel, Email, PersonName, Role, UserId, WorkspaceId};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, ProviderMetadataWithLogout, RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::{AuditAction, AuditEvent, ClientInfo, Outcome, Target, Who};
use crate::auth::{LoginOutcome, Principal};
use crate::sealed::{account_row, at};
use crate::secrets::hash_secret;
use crate::{App, AppError, AppResult, Member};

/// How long a sign-in may stay at the provider.
const LOGIN_TTL_MS: i64 = 10 * 60_000;
/// Largest answer read from a provider.
const MAX_PROVIDER_BYTES: usize = 1 << 20;

/// A workspace's OpenID Connect provider, as its admins set it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OidcSettingsInput {
    /// The issuer (`https://…`); its discovery document is read at once to check it.
    pub issuer: String,
    pub client_id: String,
    /// The client secret; leave out to keep the one set before.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Addresses at these domains become members on their first sign-in.
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    /// The ID-token claim listing the person's groups (for example `groups`).
    #[serde(default)]
    pub group_claim: Option<String>,
    /// Members of these groups become members on their first sign-in.
    #[serde(default)]
    pub allowed_groups: Vec<String>,
    /// The role they get (guest, member or moderator).
    #[serde(default = "default_role")]
    pub default_role: Role,
}

fn default_role() -> Role {
    Role::Member
}

/// A workspace's OpenID Connect provider, without its secret, with what to register there.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OidcSettingsView {
    pub issuer: String,
    pub client_id: String,
    pub allowed_domains: Vec<String>,
    pub group_claim: Option<String>,
    pub allowed_groups: Vec<String>,
    pub default_role: Role,
    /// Register this as the client's redirect URI at the provider.
    pub redirect_uri: String,
    /// Register this as the client's post-logout redirect URI.
    pub post_logout_redirect_uri: String,
}

/// What waits, sealed, while the person is at the provider.
#[derive(Serialize, Deserialize)]
struct Pending {
    nonce: String,
    verifier: String,
}

/// How a single-sign-on session also ends at the provider, sealed with the account key.
#[derive(Serialize, Deserialize)]
struct ProviderLogout {
    end_session_endpoint: String,
    id_token: String,
    client_id: String,
}

/// An HTTP failure talking to a provider.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProviderHttpError(String);

/// The HTTP client that talks to identity providers: no redirects (a token endpoint that
/// redirects is refused), ten-second timeouts, bounded answers.
struct ProviderHttp(reqwest::Client);

impl<'c> openidconnect::AsyncHttpClient<'c> for ProviderHttp {
    type Error = ProviderHttpError;
    type Future = Pin<
        Box<
            dyn Future<Output = Result<openidconnect::HttpResponse, ProviderHttpError>> + Send + 'c,
        >,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let fail = |e: &dyn std::fmt::Display| ProviderHttpError(e.to_string());
            let request = reqwest::Request::try_from(request).map_err(|e| fail(&e))?;
            let response = self.0.execute(request).await.map_err(|e| fail(&e))?;
            let mut out = openidconnect::http::Response::builder().status(response.status());
            for (k, v) in response.headers() {
                out = out.header(k, v);
            }
            let body = response.bytes().await.map_err(|e| fail(&e))?;
            if body.len() > MAX_PROVIDER_BYTES {
                return Err(ProviderHttpError(
                    "the provider's answer is too large".into(),
                ));
            }
            out.body(body.to_vec()).map_err(|e| fail(&e))
        })
    }
}

fn provider_http() -> AppResult<&'static ProviderHttp> {
    static CLIENT: OnceLock<Result<ProviderHttp, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .map(ProviderHttp)
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| AppError::internal(format!("HTTP client: {e}")))
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The claims of a verified ID token as JSON (for the group claim and `amr`, which the typed
/// claims do not carry). Only called after `openidconnect` verified the token's signature over
/// exactly these bytes.
fn verified_payload(id_token: &str) -> serde_json::Value {
    id_token
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null)
}

impl App {
    fn oidc_redirect_uri(&self, slug: &str) -> String {
        format!(
            "{}/sso/{slug}/oidc/callback",
            self.settings.public_url.trim_end_matches('/')
        )
    }

    fn post_logout_uri(&self) -> String {
        format!("{}/sign-in", self.settings.public_url.trim_end_matches('/'))
    }

    async fn discover(&self, issuer: &str) -> AppResult<ProviderMetadataWithLogout> {
        let url = IssuerUrl::new(issuer.to_owned())
            .map_err(|e| AppError::invalid("issuer", format!("is not a URL: {e}")))?;
        self.check_provider_host(url.url(), "issuer")?;
        let metadata = ProviderMetadataWithLogout::discover_async(url, provider_http()?)
            .await
            .map_err(|e| {
                AppError::Conflict(format!(
                    "the identity provider at {issuer} could not be read: {e}"
                ))
            })?;
        // The endpoints the discovery document names are fetched or posted to by this server
        // too: the same rule holds for them.
        self.check_provider_host(metadata.jwks_uri().url(), "jwks_uri")?;
        if let Some(token) = metadata.token_endpoint() {
            self.check_provider_host(token.url(), "token_endpoint")?;
        }
        Ok(metadata)
    }

    /// Refuses a provider URL whose host is this machine or a private network (a workspace
    /// admin must not make the server probe its own neighbourhood), unless the operator allows
    /// loopback providers for tests (`sso.allow_http_issuers`). Names are not resolved here:
    /// restrict the server's outgoing traffic where names can point inside.
    fn check_provider_host(&self, url: &reqwest::Url, what: &str) -> AppResult<()> {
        if self.settings.sso_allow_http {
            return Ok(());
        }
        if url.scheme() != "https" {
            return Err(AppError::Conflict(format!(
                "the identity provider's {what} must be an https:// URL"
            )));
        }
        let inside = match url.host() {
            Some(url::Host::Ipv4(ip)) => is_inside(std::net::IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => is_inside(std::net::IpAddr::V6(ip)),
            Some(url::Host::Domain(d)) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                d == "localhost" || d.ends_with(".localhost") || d.ends_with(".local")
            }
            None => true,
        };
        if inside {
            return Err(AppError::Conflict(format!(
                "the identity provider's {what} points at this machine or a private network"
            )));
        }
        Ok(())
    }

    /// The workspace's OpenID Connect provider (admins).
    pub async fn oidc_settings(&self, m: &Member) -> AppResult<Option<OidcSettingsView>> {
        if m.role() < Role::Admin {
            return Err(AppError::Forbidden(
                "single sign-on settings are for the workspace's admins".into(),
            ));
        }
        let mut tx = self.store.read().await?;
        let Some(r) = tx.oidc_config(m.workspace).await? else {
            return Ok(None);
        };
        Ok(Some(OidcSettingsView {
            issuer: r.issuer,
            client_id: r.client_id,
            allowed_domains: list(&r.allowed_domains),
            group_claim: r.group_claim,
            allowed_groups: list(&r.allowed_groups),
            default_role: r.default_role.parse().unwrap_or(Role::Member),
            redirect_uri: self.oidc_redirect_uri(&m.slug),
            post_logout_redirect_uri: self.post_logout_uri(),
        }))
    }

    /// Sets the workspace's OpenID Connect provider (admins, after a recent
    /// re-authentication). The issuer's discovery document is read first: a provider that
    /// cannot be reached or does not describe itself is refused with the reason.
    pub async fn set_oidc_settings(
        &self,
        m: &Member,
        input: OidcSettingsInput,
    ) -> AppResult<OidcSettingsView> {
        m.allow(Action::ManageSettings)?;
        self.require_recent_member(m)?;
        let issuer = input.issuer.trim().trim_end_matches('/').to_owned();
        let allowed = issuer.starts_with("https://")
            || (self.settings.sso_allow_http && issuer.starts_with("http://"));
        if !allowed {
            return Err(AppError::invalid("issuer", "must be an https:// URL"));
        }
        let client_id = input.client_id.trim().to_owned();
        if client_id.is_empty() || client_id.len() > 200 {
            return Err(AppError::invalid(
                "client_id",
                "must be 1 to 200 characters",
            ));
        }
        if input.default_role > Role::Moderator {
            return Err(AppError::invalid(
                "default_role",
                "must be guest, member or moderator; make admins by hand",
            ));
        }
        let domains: Vec<String> = input
            .allowed_domains
            .iter()
            .map(|d| d.trim().trim_start_matches('@').to_lowercase())
            .filter(|d| !d.is_empty())
            .collect();
        if let Some(bad) = domains
            .iter()
            .find(|d| !d.contains('.') || d.chars().any(|c| c.is_whitespace() || c == ','))
        {
            return Err(AppError::invalid(
                "allowed_domains",
                format!("{bad:?} is not a domain name"),
            ));
        }
        let groups: Vec<String> = input
            .allowed_groups
            .iter()
            .map(|g| g.trim().to_owned())
            .filter(|g| !g.is_empty() && !g.contains(','))
            .collect();
        let group_claim = input
            .group_claim
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
        self.discover(&issuer).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let existing = tx.oidc_config(m.workspace).await?;
        let mut repo = tx.workspace(m.workspace);
        let key = self.keyring.data_key(&mut repo, None, now).await?;
        let secret = match (input.client_secret, &existing) {
            (Some(s), _) => key.seal_text(
                m.workspace,
                "workspace_oidc",
                "client_secret",
                m.workspace.0,
                &s,
            )?,
            (None, Some(e)) => e.client_secret.clone(),
            (None, None) => {
                return Err(AppError::invalid(
                    "client_secret",
                    "is needed the first time",
                ));
            }
        };
        tx.put_oidc_config(
            m.workspace,
            &ideaweave_store::OidcConfigRecord {
                issuer: issuer.clone(),
                client_id: client_id.clone(),
                client_secret: secret,
                allowed_domains: domains.join(","),
                group_claim: group_claim.clone(),
                allowed_groups: groups.join(","),
                default_role: input.default_role.as_str().to_owned(),
                updated_at: now,
            },
        )
        .await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::SsoChanged,
            Target::Scope,
            json!({"protocol": "oidc", "issuer": issuer, "domains": domains.len(), "groups": groups.len()}),
        )
        .await?;
        tx.commit().await?;
        Ok(OidcSettingsView {
            issuer,
            client_id,
            allowed_domains: domains,
            group_claim,
            allowed_groups: groups,
            default_role: input.default_role,
            redirect_uri: self.oidc_redirect_uri(&m.slug),
            post_logout_redirect_uri: self.post_logout_uri(),
        })
    }

    /// Turns single sign-on off for the workspace (admins, after a recent re-authentication).
    pub async fn remove_oidc_settings(&self, m: &Member) -> AppResult<()> {
        m.allow(Action::ManageSettings)?;
        self.require_recent_member(m)?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_oidc_config(m.workspace).await? {
            return Err(AppError::NotFound("single sign-on"));
        }
        self.audit_by(
            &mut tx,
            m,
            AuditAction::SsoChanged,
            Target::Scope,
            json!({"protocol": "oidc", "removed": true}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The workspace and its provider's client, for a sign-in through `slug`.
    async fn oidc_client(
        &self,
        slug: &str,
    ) -> AppResult<(
        WorkspaceId,
        ideaweave_store::OidcConfigRecord,
        ProviderMetadataWithLogout,
        String,
    )> {
        let none = || AppError::NotFound("single sign-on");
        let mut tx = self.store.read().await?;
        let ws = tx.workspace_by_slug(slug).await?.ok_or_else(none)?;
        let config = tx.oidc_config(ws.id).await?.ok_or_else(none)?;
        let secret = self
            .keyring
            .open_text(
                &mut tx,
                &at(ws.id, "workspace_oidc", "client_secret", ws.id.0),
                &config.client_secret,
            )
            .await?
            .ok_or_else(none)?;
        drop(tx);
        let metadata = self.discover(&config.issuer).await?;
        Ok((ws.id, config, metadata, secret))
    }

    /// Starts a sign-in through the workspace's provider: the URL to send the browser to, and
    /// the secret the browser must keep (a cookie) and show at the callback.
    pub async fn start_oidc(&self, slug: &str, next: &str) -> AppResult<(String, String)> {
        self.start_oidc_for(slug, next, None).await
    }

    /// Starts linking the caller's account to their identity at the workspace's provider
    /// (after a recent re-authentication): like [`App::start_oidc`], and the callback links
    /// when the provider's address is the account's.
    pub async fn start_oidc_link(
        &self,
        principal: &Principal,
        slug: &str,
    ) -> AppResult<(String, String)> {
        self.require_recent_auth(principal)?;
        self.start_oidc_for(slug, "/account/security", Some(principal.user))
            .await
    }

    async fn start_oidc_for(
        &self,
        slug: &str,
        next: &str,
        link_user: Option<UserId>,
    ) -> AppResult<(String, String)> {
        let (ws, config, metadata, secret) = self.oidc_client(slug).await?;
        let redirect = RedirectUrl::new(self.oidc_redirect_uri(slug))
            .map_err(|e| AppError::internal(format!("redirect URI: {e}")))?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(config.client_id.clone()),
            Some(ClientSecret::new(secret)),
        )
        .set_redirect_uri(redirect);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .add_scopes(config.group_claim.iter().map(|c| Scope::new(c.clone())))
            .set_pkce_challenge(challenge)
            .url();
        let now = self.now();
        let state_hash = hash_secret(state.secret());
        let pending = serde_json::to_string(&Pending {
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
        })
        .map_err(|e| AppError::internal(e.to_string()))?;
        let mut tx = self.store.begin().await?;
        let mut repo = tx.workspace(ws);
        let key = self.keyring.data_key(&mut repo, None, now).await?;
        let sealed = key.seal_text(ws, "sso_logins", "secrets", row_of(&state_hash), &pending)?;
        let browser = crate::secrets::random_secret()?;
        tx.insert_sso_login(ideaweave_store::NewSsoLogin {
            workspace: ws,
            state_hash: &state_hash,
            secrets: &sealed,
            next,
            expires_at: now + LOGIN_TTL_MS,
            browser_hash: &hash_secret(&browser),
            link_user,
        })
        .await?;
        tx.commit().await?;
        Ok((url.to_string(), browser))
    }

    /// Finishes a sign-in through the workspace's provider: the browser's secret must be the
    /// one the sign-in started with; the code is exchanged (with the PKCE verifier), the ID
    /// token validated, and the person signed in — created and made a member when allowed.
    /// `current` is who is signed in in this browser (for a link they asked for). Returns the
    /// session and where to go.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish_oidc(
        &self,
        slug: &str,
        code: &str,
        state: &str,
        browser: Option<&str>,
        current: Option<&Principal>,
        client: &ClientInfo,
    ) -> AppResult<(LoginOutcome, String)> {
        let refused = |why: &str| AppError::Forbidden(format!("single sign-on failed: {why}"));
        let (ws, config, metadata, secret) = self.oidc_client(slug).await?;
        let now = self.now();
        let state_hash = hash_secret(state);
        let login = {
            let mut tx = self.store.begin().await?;
            let taken = tx.take_sso_login(ws, &state_hash, now).await?;
            tx.commit().await?;
            taken.ok_or_else(|| refused("this sign-in expired or was used already; start again"))?
        };
        let same_browser = match (&login.browser_hash, browser) {
            (Some(want), Some(secret)) => *want == hash_secret(secret),
            _ => false,
        };
        if !same_browser {
            return Err(refused(
                "this sign-in was started in another browser; start again here",
            ));
        }
        let (sealed, next) = (login.secrets, login.next);
        let link_user = login.link_user.map(UserId);
        let pending: Pending = {
            let mut tx = self.store.read().await?;
            let text = self
                .keyring
                .open_text(
                    &mut tx,
                    &at(ws, "sso_logins", "secrets", row_of(&state_hash)),
                    &sealed,
                )
                .await?
                .ok_or_else(|| refused("this sign-in expired; start again"))?;
            serde_json::from_str(&text).map_err(|e| AppError::Integrity(e.to_string()))?
        };
        let end_session = metadata
            .additional_metadata()
            .end_session_endpoint
            .as_ref()
            .map(|u| u.url().to_string());
        let redirect = RedirectUrl::new(self.oidc_redirect_uri(slug))
            .map_err(|e| AppError::internal(format!("redirect URI: {e}")))?;
        let oidc = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(config.client_id.clone()),
            Some(ClientSecret::new(secret)),
        )
        .set_redirect_uri(redirect);
        let tokens = oidc
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| refused(&format!("the provider has no token endpoint ({e})")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .request_async(provider_http()?)
            .await
            .map_err(|e| {
                tracing::info!(error = %e, "an OIDC code exchange failed");
                refused("the provider did not accept the sign-in")
            })?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| refused("the provider sent no ID token"))?;
        let claims = id_token
            .claims(&oidc.id_token_verifier(), &Nonce::new(pending.nonce))
            .map_err(|e| {
                tracing::info!(error = %e, "an ID token was refused");
                refused("the ID token did not validate")
            })?;
        let raw_token = id_token.to_string();
        let payload = verified_payload(&raw_token);
        let subject_hash = self.keyring.keyed_index(&format!(
            "sso-subject:{}\u{0}{}",
            claims.issuer().as_str(),
            claims.subject().as_str()
        ))?;
        let email = claims
            .email()
            .map(|e| e.as_str().to_owned())
            .ok_or_else(|| refused("the provider sent no email address"))?;
        if claims.email_verified() != Some(true) {
            return Err(refused("the provider has not verified the email address"));
        }
        let email = Email::parse(&email).map_err(|_| refused("the email address is not valid"))?;
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned())
            .unwrap_or_else(|| {
                email
                    .as_str()
                    .split('@')
                    .next()
                    .unwrap_or("Member")
                    .to_owned()
            });
        let groups: Vec<String> = config
            .group_claim
            .as_deref()
            .and_then(|c| payload.get(c))
            .and_then(|g| g.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let domain = email
            .as_str()
            .rsplit('@')
            .next()
            .unwrap_or_default()
            .to_lowercase();
        let admitted = list(&config.allowed_domains).contains(&domain)
            || list(&config.allowed_groups)
                .iter()
                .any(|g| groups.contains(g));
        // A provider's word about how it authenticated (`amr`) is not taken: any workspace
        // admin can run a provider, and the session is good in every workspace of the account.
        let level = AuthLevel::Password;
        let role: Role = config.default_role.parse().unwrap_or(Role::Member);
        let user = self
            .sso_account(
                ws,
                &subject_hash,
                &email,
                &name,
                role,
                admitted,
                link_user.filter(|u| current.is_some_and(|p| p.is_session() && p.user == *u)),
                client,
            )
            .await?;
        let (session, csrf) = self.start_session(user, client, level).await?;
        if let Some(endpoint) = end_session {
            let logout = serde_json::to_vec(&ProviderLogout {
                end_session_endpoint: endpoint,
                id_token: raw_token,
                client_id: config.client_id.clone(),
            })
            .map_err(|e| AppError::internal(e.to_string()))?;
            let mut tx = self.store.begin().await?;
            let hash = hash_secret(&session);
            let session_id = tx
                .session(&hash, now, self.idle_cutoff(now))
                .await?
                .map(|s| s.id);
            if let Some(id) = session_id {
                let key = self.keyring.account_key(&mut tx, user, now).await?;
                let sealed = key.seal(&account_row("sessions", "sso_logout", id), &logout)?;
                tx.set_session_sso_logout(&hash, &sealed).await?;
            }
            tx.commit().await?;
        }
        let mut tx = self.store.read().await?;
        let record = tx
            .user_by_id(user)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let view = self.user_view(&mut tx, &record).await?;
        Ok((
            LoginOutcome {
                session,
                csrf,
                user: view,
            },
            next,
        ))
    }

    /// The account of a provider's subject: the one linked before; or `linking`'s, linked now
    /// when the addresses match (they asked for it and are signed in here); or a new one, when
    /// the workspace admits the address's domain or one of the groups. Makes them a member when
    /// they are not. Every refusal reads the same, so it does not tell who has an account.
    #[allow(clippy::too_many_arguments)]
    async fn sso_account(
        &self,
        ws: WorkspaceId,
        subject_hash: &[u8],
        email: &Email,
        name: &str,
        role: Role,
        admitted: bool,
        linking: Option<UserId>,
        client: &ClientInfo,
    ) -> AppResult<UserId> {
        let refused = || {
            AppError::Forbidden(
                "single sign-on failed: this workspace's single sign-on does not let this \
                 address join. If you already have an account with it, sign in with your \
                 password and link single sign-on under Account › Security"
                    .into(),
            )
        };
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let linked = tx.sso_identity(ws, subject_hash).await?;
        let by_address = self.account_by_email(&mut tx, email).await?;
        let user = match (linked, by_address) {
            (Some(u), _) => u,
            (None, Some(existing)) => {
                if linking != Some(existing.id) {
                    return Err(refused());
                }
                tx.insert_sso_identity(ws, subject_hash, existing.id, now)
                    .await?;
                existing.id
            }
            (None, None) => {
                if !admitted || linking.is_some() {
                    return Err(refused());
                }
                let name = PersonName::parse(name)
                    .or_else(|_| PersonName::parse(email.as_str()))
                    .map_err(|_| refused())?;
                let id = UserId::new();
                self.insert_account_in(&mut tx, id, email, &name, None, false)
                    .await?;
                self.audit(
                    &mut tx,
                    AuditEvent {
                        workspace: None,
                        actor: Who::Person(id),
                        action: AuditAction::AccountCreated,
                        target: Target::Person(id),
                        outcome: Outcome::Success,
                        client,
                        facts: json!({"via": "oidc"}),
                    },
                )
                .await?;
                tx.insert_sso_identity(ws, subject_hash, id, now).await?;
                id
            }
        };
        let mut repo = tx.workspace(ws);
        if repo.role_of(user).await?.is_none() {
            if !admitted {
                return Err(refused());
            }
            repo.upsert_member(user, role, now).await?;
            self.audit(
                &mut tx,
                AuditEvent {
                    workspace: Some(ws),
                    actor: Who::Person(user),
                    action: AuditAction::MemberAdded,
                    target: Target::Person(user),
                    outcome: Outcome::Success,
                    client,
                    facts: json!({"role": role.as_str(), "via": "oidc"}),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    /// Where to send the browser so the provider ends its session too (RP-initiated logout),
    /// for a session that began with single sign-on; `None` otherwise. Call before signing
    /// out, which forgets it.
    pub async fn provider_logout_url(&self, session_cookie: &str) -> AppResult<Option<String>> {
        let hash = hash_secret(session_cookie);
        let mut tx = self.store.read().await?;
        let Some((_, id, sealed)) = tx.session_sso_logout(&hash).await? else {
            return Ok(None);
        };
        let Some(bytes) = self
            .keyring
            .open(&mut tx, &account_row("sessions", "sso_logout", id), &sealed)
            .await?
        else {
            return Ok(None);
        };
        let logout: ProviderLogout =
            serde_json::from_slice(&bytes).map_err(|e| AppError::Integrity(e.to_string()))?;
        let mut url = reqwest::Url::parse(&logout.end_session_endpoint)
            .map_err(|e| AppError::internal(format!("end session endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("id_token_hint", &logout.id_token)
            .append_pair("client_id", &logout.client_id)
            .append_pair("post_logout_redirect_uri", &self.post_logout_uri());
        Ok(Some(url.to_string()))
    }

    /// Deletes sign-ins that never came back from their provider (the retention job).
    pub(crate) async fn purge_sso_logins(&self, tx: &mut ideaweave_store::Tx) -> AppResult<()> {
        tx.purge_sso_logins(self.now()).await?;
        Ok(())
    }
}

/// Whether an address is loopback, private, link-local, unspecified or otherwise not on the
/// public internet.
fn is_inside(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64
        }
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_inside(std::net::IpAddr::V4(v4)))
        }
    }
}

/// The row id a waiting sign-in's secrets are sealed to (from its state's hash).
fn row_of(state_hash: &[u8]) -> uuid::Uuid {
    let mut b = [0u8; 16];
    b.copy_from_slice(&state_hash[..16]);
    uuid::Uuid::from_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idn_03_providers_inside_the_network_are_recognised() {
        for inside in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_inside(inside.parse().unwrap()), "{inside}");
        }
        for outside in ["8.8.8.8", "203.0.113.9", "2001:db8::1", "1.1.1.1"] {
            assert!(!is_inside(outside.parse().unwrap()), "{outside}");
        }
    }
}
