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

use crate::OrInternal;
use crate::identity::auth::{LoginOutcome, Principal};
use crate::platform::sealed::column;
use crate::platform::sealed::{account_row, at};
use crate::platform::secrets::hash_secret;
use crate::trust::audit::{AuditAction, AuditEvent, ClientInfo, Outcome, Target, Who};
use crate::{App, AppError, AppResult, Member};

/// How long a sign-in may stay at the provider.
const LOGIN_TTL_MS: i64 = 10 * 60_000;
/// Largest answer read from a provider.
const MAX_PROVIDER_BYTES: usize = 1 << 20;
/// How long a provider's discovery document (with its signing keys) is used before it is read
/// again. Providers publish a new signing key before they sign with it, so a few minutes never
/// refuse a good ID token; and sign-ins do not wait on two extra requests to the provider each.
pub const DISCOVERY_TTL_MS: i64 = 5 * 60_000;
/// Most providers remembered at once (each workspace has at most one).
const DISCOVERY_CACHE_MAX: usize = 1024;

/// Providers' discovery documents read recently, by issuer. Each node keeps its own, and
/// nothing in it is needed by another node: a node that has none reads the provider.
#[derive(Default)]
pub(crate) struct DiscoveryCache(
    std::sync::Mutex<std::collections::HashMap<String, (i64, ProviderMetadataWithLogout)>>,
);

impl DiscoveryCache {
    fn get(&self, issuer: &str, now: i64) -> Option<ProviderMetadataWithLogout> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(issuer)
            .filter(|(read_at, _)| now - read_at < DISCOVERY_TTL_MS && now >= *read_at)
            .map(|(_, m)| m.clone())
    }

    fn put(&self, issuer: &str, now: i64, metadata: ProviderMetadataWithLogout) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= DISCOVERY_CACHE_MAX {
            map.retain(|_, (read_at, _)| now - *read_at < DISCOVERY_TTL_MS);
            if map.len() >= DISCOVERY_CACHE_MAX {
                map.clear();
            }
        }
        map.insert(issuer.to_owned(), (now, metadata));
    }
}

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

/// What an OpenID Connect provider said of itself when tested from the set-up page.
#[derive(Debug, Clone)]
pub struct OidcProbe {
    pub issuer: String,
    /// Where people are sent to sign in.
    pub authorization_endpoint: String,
    /// Whether it offers single logout (an end-session endpoint).
    pub logs_out: bool,
}

/// What waits, sealed, while the person is at the provider.
#[derive(Serialize, Deserialize)]
struct Pending {
    nonce: String,
    verifier: String,
}

/// How a single-sign-on session also ends at its provider, sealed with the account key on the
/// session. Untagged: sessions from before SAML hold the OpenID Connect form.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum ProviderLogout {
    /// RP-initiated logout at the OpenID provider's end-session endpoint.
    Oidc {
        end_session_endpoint: String,
        id_token: String,
        client_id: String,
    },
    /// A signed `LogoutRequest` to the workspace's SAML provider.
    Saml {
        slug: String,
        name_id: String,
        name_id_format: Option<String>,
        session_index: Option<String>,
    },
}

/// Who arrived through single sign-on, as their provider vouched for them.
pub(crate) struct SsoArrival<'a> {
    pub ws: WorkspaceId,
    /// The keyed hash of the provider's subject.
    pub subject_hash: &'a [u8],
    pub email: &'a Email,
    pub name: &'a str,
    /// The role new members get.
    pub role: Role,
    /// The workspace admits them (address domain or group).
    pub admitted: bool,
    /// The signed-in account that asked to be linked, if any.
    pub linking: Option<UserId>,
    /// The protocol, for the audit trail.
    pub via: &'static str,
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

/// Resolves provider host names to public addresses only: a name that points at this machine
/// or a private network (directly, or after a rebinding between check and use) cannot be
/// reached, because the connection is made to the addresses this returns.
struct PublicAddressesOnly;

impl reqwest::dns::Resolve for PublicAddressesOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| !is_inside(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!(
                    "{host} resolves to no public address (this machine or a private network)"
                )
                .into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// The client for identity providers: resolving to public addresses only, unless the operator
/// allows providers on loopback (`sso.allow_http_issuers`, for tests).
fn provider_http(allow_inside: bool) -> AppResult<&'static ProviderHttp> {
    static STRICT: OnceLock<Result<ProviderHttp, String>> = OnceLock::new();
    static LOOPBACK: OnceLock<Result<ProviderHttp, String>> = OnceLock::new();
    let build = |strict: bool| {
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10));
        if strict {
            b = b.dns_resolver(PublicAddressesOnly);
        }
        b.build().map(ProviderHttp).map_err(|e| e.to_string())
    };
    let client = if allow_inside {
        LOOPBACK.get_or_init(|| build(false))
    } else {
        STRICT.get_or_init(|| build(true))
    };
    client
        .as_ref()
        .map_err(|e| AppError::internal_from("HTTP client", e.clone()))
}

pub(crate) fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The address domains and groups that admit new members, cleaned and checked.
pub(crate) fn admission_lists(
    domains: &[String],
    groups: &[String],
) -> AppResult<(Vec<String>, Vec<String>)> {
    let domains: Vec<String> = domains
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
    let groups: Vec<String> = groups
        .iter()
        .map(|g| g.trim().to_owned())
        .filter(|g| !g.is_empty() && !g.contains(','))
        .collect();
    Ok((domains, groups))
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

/// A single sign-on begun: where to send the browser, and the secret it must keep (in a
/// cookie) and show again when the provider sends it back.
#[derive(Debug)]
pub struct SsoStart {
    /// The provider's URL with the request.
    pub redirect_to: String,
    /// The browser's secret for the callback.
    pub browser_secret: String,
}

impl App {
    /// The redirect URI to register at an OpenID Connect provider for the workspace `slug`.
    pub fn oidc_redirect_uri(&self, slug: &str) -> String {
        format!(
            "{}/sso/{slug}/oidc/callback",
            self.settings.public_url.trim_end_matches('/')
        )
    }

    fn post_logout_uri(&self) -> String {
        format!("{}/sign-in", self.settings.public_url.trim_end_matches('/'))
    }

    /// The provider's discovery document, as read within the last [`DISCOVERY_TTL_MS`].
    async fn discover(&self, issuer: &str) -> AppResult<ProviderMetadataWithLogout> {
        if let Some(metadata) = self.discovery.get(issuer, self.now()) {
            return Ok(metadata);
        }
        self.discover_now(issuer).await
    }

    /// Reads the provider's discovery document (and signing keys) now, and remembers it.
    async fn discover_now(&self, issuer: &str) -> AppResult<ProviderMetadataWithLogout> {
        let read_at = self.now();
        let url = IssuerUrl::new(issuer.to_owned())
            .map_err(|e| AppError::invalid("issuer", format!("is not a URL: {e}")))?;
        self.check_provider_host(url.url(), "issuer")?;
        let metadata = ProviderMetadataWithLogout::discover_async(
            url,
            provider_http(self.settings.sso_allow_http)?,
        )
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
        self.discovery.put(issuer, read_at, metadata.clone());
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
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
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
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn set_oidc_settings(
        &self,
        m: &Member,
        input: OidcSettingsInput,
    ) -> AppResult<OidcSettingsView> {
        m.allow(Action::ManageSettings)?;
        m.refuse_support()?;
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
        let (domains, groups) = admission_lists(&input.allowed_domains, &input.allowed_groups)?;
        let group_claim = input
            .group_claim
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
        self.discover_now(&issuer).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let existing = tx.oidc_config(m.workspace).await?;
        let mut repo = tx.workspace(m.workspace);
        let key = self.keyring.data_key(&mut repo, None, now).await?;
        let secret = match (input.client_secret, &existing) {
            (Some(s), _) => key.seal_text(
                m.workspace,
                column::WORKSPACE_OIDC_CLIENT_SECRET,
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

    /// Reads an issuer's discovery document now, without saving anything: the set-up page's
    /// "test connection" (admins). The same checks as saving apply (https, no provider on this
    /// machine or a private network), and a provider that cannot be read is refused with the
    /// reason.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn probe_oidc_issuer(&self, m: &Member, issuer: &str) -> AppResult<OidcProbe> {
        m.allow(Action::ManageSettings)?;
        m.refuse_support()?;
        let issuer = issuer.trim().trim_end_matches('/').to_owned();
        let allowed = issuer.starts_with("https://")
            || (self.settings.sso_allow_http && issuer.starts_with("http://"));
        if !allowed {
            return Err(AppError::invalid("issuer", "must be an https:// URL"));
        }
        let metadata = self.discover_now(&issuer).await?;
        Ok(OidcProbe {
            authorization_endpoint: metadata.authorization_endpoint().url().to_string(),
            logs_out: metadata
                .additional_metadata()
                .end_session_endpoint
                .is_some(),
            issuer,
        })
    }

    /// Turns single sign-on off for the workspace (admins, after a recent re-authentication).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn remove_oidc_settings(&self, m: &Member) -> AppResult<()> {
        m.allow(Action::ManageSettings)?;
        m.refuse_support()?;
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
                &at(ws.id, column::WORKSPACE_OIDC_CLIENT_SECRET, ws.id.0),
                &config.client_secret,
            )
            .await?
            .ok_or_else(none)?;
        drop(tx);
        let metadata = self.discover(&config.issuer).await?;
        Ok((ws.id, config, metadata, secret))
    }

    /// Starts a sign-in through the workspace's identity provider, SAML or OpenID Connect,
    /// whichever it has set: the URL to send the browser to, and the browser's secret.
    #[tracing::instrument(skip_all)]
    pub async fn start_sso(&self, slug: &str, next: &str) -> AppResult<SsoStart> {
        if self.uses_saml(slug).await? {
            self.start_saml(slug, next).await
        } else {
            self.start_oidc(slug, next).await
        }
    }

    /// Starts linking the caller's account to the workspace's identity provider, SAML or
    /// OpenID Connect (after a recent re-authentication).
    #[tracing::instrument(skip_all)]
    pub async fn start_sso_link(&self, principal: &Principal, slug: &str) -> AppResult<SsoStart> {
        if self.uses_saml(slug).await? {
            self.start_saml_link(principal, slug).await
        } else {
            self.start_oidc_link(principal, slug).await
        }
    }

    /// Starts a sign-in through the workspace's provider: the URL to send the browser to, and
    /// the secret the browser must keep (a cookie) and show at the callback.
    #[tracing::instrument(skip_all)]
    pub async fn start_oidc(&self, slug: &str, next: &str) -> AppResult<SsoStart> {
        self.start_oidc_for(slug, next, None).await
    }

    /// Starts linking the caller's account to their identity at the workspace's provider
    /// (after a recent re-authentication): like [`App::start_oidc`], and the callback links
    /// when the provider's address is the account's.
    #[tracing::instrument(skip_all)]
    pub async fn start_oidc_link(&self, principal: &Principal, slug: &str) -> AppResult<SsoStart> {
        self.require_recent_auth(principal)?;
        self.start_oidc_for(slug, "/account/security", Some(principal.user))
            .await
    }

    async fn start_oidc_for(
        &self,
        slug: &str,
        next: &str,
        link_user: Option<UserId>,
    ) -> AppResult<SsoStart> {
        let (ws, config, metadata, secret) = self.oidc_client(slug).await?;
        let redirect =
            RedirectUrl::new(self.oidc_redirect_uri(slug)).or_internal("redirect URI")?;
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
        let pending = serde_json::to_string(&Pending {
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
        })
        .map_err(|e| AppError::internal(e.to_string()))?;
        let browser = crate::platform::secrets::random_secret()?;
        self.park_login(
            ws,
            ParkedLogin {
                state: state.secret(),
                secrets: &pending,
                next,
                browser_hash: &hash_secret(&browser),
                link_user,
                protocol: "oidc",
                ttl_ms: LOGIN_TTL_MS,
            },
        )
        .await?;
        Ok(SsoStart {
            redirect_to: url.to_string(),
            browser_secret: browser,
        })
    }

    /// Finishes a sign-in through the workspace's provider: the browser's secret must be the
    /// one the sign-in started with; the code is exchanged (with the PKCE verifier), the ID
    /// token validated, and the person signed in — created and made a member when allowed.
    /// `current` is who is signed in in this browser (for a link they asked for). Returns the
    /// session and where to go.
    #[allow(clippy::too_many_arguments)]
    #[tracing::instrument(skip_all)]
    pub async fn finish_oidc(
        &self,
        slug: &str,
        code: &str,
        state: &str,
        browser: Option<&str>,
        current: Option<&Principal>,
        client: &ClientInfo,
    ) -> AppResult<(LoginOutcome, String)> {
        let (ws, config, metadata, secret) = self.oidc_client(slug).await?;
        let login = self.take_login(ws, state, "oidc").await?;
        login.check_browser(browser)?;
        let (next, link_user) = (login.next, login.link_user);
        let pending: Pending =
            serde_json::from_str(&login.secrets).map_err(|e| AppError::Integrity(e.to_string()))?;
        let end_session = metadata
            .additional_metadata()
            .end_session_endpoint
            .as_ref()
            .map(|u| u.url().to_string());
        let redirect =
            RedirectUrl::new(self.oidc_redirect_uri(slug)).or_internal("redirect URI")?;
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
            .request_async(provider_http(self.settings.sso_allow_http)?)
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
                SsoArrival {
                    ws,
                    subject_hash: &subject_hash,
                    email: &email,
                    name: &name,
                    role,
                    admitted,
                    linking: link_user
                        .filter(|u| current.is_some_and(|p| p.is_session() && p.user == *u)),
                    via: "oidc",
                },
                client,
            )
            .await?;
        let (session, csrf) = self.start_session(user, client, level).await?;
        if let Some(endpoint) = end_session {
            self.remember_provider_logout(
                &session,
                user,
                &ProviderLogout::Oidc {
                    end_session_endpoint: endpoint,
                    id_token: raw_token,
                    client_id: config.client_id.clone(),
                },
            )
            .await?;
        }
        Ok((self.login_outcome(user, session, csrf).await?, next))
    }

    /// Seals on a new single-sign-on session how it ends at its provider too.
    pub(crate) async fn remember_provider_logout(
        &self,
        session: &str,
        user: UserId,
        logout: &ProviderLogout,
    ) -> AppResult<()> {
        let logout = serde_json::to_vec(logout).map_err(|e| AppError::internal(e.to_string()))?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let hash = hash_secret(session);
        let session_id = tx
            .session(&hash, now, self.idle_cutoff(now))
            .await?
            .map(|s| s.id);
        if let Some(id) = session_id {
            let key = self.keyring.account_key(&mut tx, user, now).await?;
            let sealed = key.seal(&account_row(column::SESSIONS_SSO_LOGOUT, id), &logout)?;
            tx.set_session_sso_logout(&hash, &sealed).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// What a new session's cookie, anti-CSRF token and person look like to the caller.
    pub(crate) async fn login_outcome(
        &self,
        user: UserId,
        session: String,
        csrf: String,
    ) -> AppResult<LoginOutcome> {
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

    /// The account of a provider's subject: the one linked before; or `linking`'s, linked now
    /// when the addresses match (they asked for it and are signed in here); or a new one, when
    /// the workspace admits the address's domain or one of the groups. Makes them a member when
    /// they are not. Every refusal reads the same, so it does not tell who has an account.
    pub(crate) async fn sso_account(
        &self,
        arrival: SsoArrival<'_>,
        client: &ClientInfo,
    ) -> AppResult<UserId> {
        let SsoArrival {
            ws,
            subject_hash,
            email,
            name,
            role,
            admitted,
            linking,
            via,
        } = arrival;
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
                tx.insert_sso_identity(ws, subject_hash, existing.id, via, now)
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
                        facts: json!({"via": via}),
                    },
                )
                .await?;
                tx.insert_sso_identity(ws, subject_hash, id, via, now)
                    .await?;
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
                    facts: json!({"role": role.as_str(), "via": via}),
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
    #[tracing::instrument(skip_all)]
    pub async fn provider_logout_url(&self, session_cookie: &str) -> AppResult<Option<String>> {
        match self.provider_logout_of(session_cookie).await? {
            None => Ok(None),
            Some(ProviderLogout::Oidc {
                end_session_endpoint,
                id_token,
                client_id,
            }) => {
                let mut url = reqwest::Url::parse(&end_session_endpoint)
                    .or_internal("end session endpoint")?;
                url.query_pairs_mut()
                    .append_pair("id_token_hint", &id_token)
                    .append_pair("client_id", &client_id)
                    .append_pair("post_logout_redirect_uri", &self.post_logout_uri());
                Ok(Some(url.to_string()))
            }
            Some(ProviderLogout::Saml {
                slug,
                name_id,
                name_id_format,
                session_index,
            }) => {
                self.saml_logout_url(
                    &slug,
                    &name_id,
                    name_id_format.as_deref(),
                    session_index.as_deref(),
                )
                .await
            }
        }
    }

    /// How the session with this cookie ends at its provider, if it began with single sign-on.
    pub(crate) async fn provider_logout_of(
        &self,
        session_cookie: &str,
    ) -> AppResult<Option<ProviderLogout>> {
        let hash = hash_secret(session_cookie);
        let mut tx = self.store.read().await?;
        let Some((_, id, sealed)) = tx.session_sso_logout(&hash).await? else {
            return Ok(None);
        };
        let Some(bytes) = self
            .keyring
            .open(
                &mut tx,
                &account_row(column::SESSIONS_SSO_LOGOUT, id),
                &sealed,
            )
            .await?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| AppError::Integrity(e.to_string()))
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

/// A single-sign-on refusal, with what went wrong (it is about the visitor's own sign-in).
pub(crate) fn refused(why: &str) -> AppError {
    AppError::Forbidden(format!("single sign-on failed: {why}"))
}

/// A sign-in kept while the person is elsewhere (at the provider, or between the SAML ACS and
/// the finishing step), found again by the hash of `state`.
pub(crate) struct ParkedLogin<'a> {
    pub state: &'a str,
    /// What it carries, sealed with the workspace key.
    pub secrets: &'a str,
    pub next: &'a str,
    /// The hash of the cookie of the browser that must come back.
    pub browser_hash: &'a [u8],
    pub link_user: Option<UserId>,
    /// The protocol step it waits at: a state from one step is never taken at another.
    pub protocol: &'static str,
    pub ttl_ms: i64,
}

/// A parked sign-in, taken out (once), with what it carries opened.
pub(crate) struct TakenLogin {
    pub secrets: String,
    pub next: String,
    pub browser_hash: Option<Vec<u8>>,
    pub link_user: Option<UserId>,
}

impl TakenLogin {
    /// Refuses a sign-in finished in a browser other than the one that started it.
    pub(crate) fn check_browser(&self, browser: Option<&str>) -> AppResult<()> {
        match (&self.browser_hash, browser) {
            (Some(want), Some(secret)) if *want == hash_secret(secret) => Ok(()),
            _ => Err(refused(
                "this sign-in was started in another browser; start again here",
            )),
        }
    }
}

impl App {
    /// Keeps a sign-in for a later step (its secrets sealed with the workspace key).
    pub(crate) async fn park_login(&self, ws: WorkspaceId, p: ParkedLogin<'_>) -> AppResult<()> {
        let now = self.now();
        let state_hash = hash_secret(p.state);
        let mut tx = self.store.begin().await?;
        let mut repo = tx.workspace(ws);
        let key = self.keyring.data_key(&mut repo, None, now).await?;
        let sealed = key.seal_text(
            ws,
            column::SSO_LOGINS_SECRETS,
            row_of(&state_hash),
            p.secrets,
        )?;
        tx.insert_sso_login(ideaweave_store::NewSsoLogin {
            workspace: ws,
            state_hash: &state_hash,
            secrets: &sealed,
            next: p.next,
            expires_at: now + p.ttl_ms,
            browser_hash: p.browser_hash,
            link_user: p.link_user,
            protocol: p.protocol,
        })
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes out the live sign-in parked under `state` at `protocol` (used once, whatever
    /// happens next) and opens what it carries.
    pub(crate) async fn take_login(
        &self,
        ws: WorkspaceId,
        state: &str,
        protocol: &str,
    ) -> AppResult<TakenLogin> {
        let state_hash = hash_secret(state);
        let login = {
            let mut tx = self.store.begin().await?;
            let taken = tx
                .take_sso_login(ws, &state_hash, protocol, self.now())
                .await?;
            tx.commit().await?;
            taken.ok_or_else(|| refused("this sign-in expired or was used already; start again"))?
        };
        let mut tx = self.store.read().await?;
        let secrets = self
            .keyring
            .open_text(
                &mut tx,
                &at(ws, column::SSO_LOGINS_SECRETS, row_of(&state_hash)),
                &login.secrets,
            )
            .await?
            .ok_or_else(|| refused("this sign-in expired; start again"))?;
        Ok(TakenLogin {
            secrets,
            next: login.next,
            browser_hash: login.browser_hash,
            link_user: login.link_user.map(UserId),
        })
    }
}

/// The row id a waiting sign-in's secrets are sealed to (from its state's hash).
pub(crate) fn row_of(state_hash: &[u8]) -> uuid::Uuid {
    let mut b = [0u8; 16];
    b.copy_from_slice(&state_hash[..16]);
    uuid::Uuid::from_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn idn_03_provider_names_resolving_inside_are_not_reached() {
        use reqwest::dns::Resolve;
        // `localhost` resolves (from /etc/hosts) to loopback only: nothing is left to connect to.
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let Err(e) = PublicAddressesOnly.resolve(name).await else {
            panic!("localhost must not resolve to a usable address");
        };
        assert!(e.to_string().contains("no public address"), "{e}");
        // A provider listening on this machine: the loopback-allowing client (tests) reaches
        // it, the production client does not even connect.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request = [0u8; 1024];
                let _ = stream.read(&mut request).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            }
        });
        let url = format!("http://localhost:{port}/.well-known/openid-configuration");
        let open = provider_http(true).unwrap().0.get(&url).send().await;
        assert_eq!(
            open.map(|r| r.status().as_u16())
                .map_err(|e| format!("{e:?}")),
            Ok(200)
        );
        let strict = provider_http(false).unwrap().0.get(&url).send().await;
        let e = strict.expect_err("the production client must not reach this machine");
        assert!(format!("{e:?}").contains("no public address"), "{e:?}");
    }

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
