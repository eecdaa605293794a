//! Second factors, re-authentication, one's sessions and password, and a workspace's credential
//! policy (IDN-01, IDN-02, IDN-04).

pub mod password;
pub mod session;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ideaweave_app::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::identity::session::session_cookie_header;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Caller, Client};

/// The anti-CSRF token of a session that just got a new cookie.
#[derive(Debug, Serialize, ToSchema)]
pub struct CsrfView {
    /// Echo this in `X-CSRF-Token` from now on; the earlier token and cookie no longer work.
    pub csrf_token: String,
}

/// A new authenticator's confirmation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirmInput {
    /// The six-digit code the app shows now.
    pub code: String,
}

/// Two-factor sign-in turned on: the recovery codes (shown this once) and the session's new
/// anti-CSRF token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpConfirmed {
    pub recovery_codes: Vec<String>,
    pub csrf_token: String,
}

/// A password changed: other sessions ended, and the session's new anti-CSRF token.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordChangedView {
    pub sessions_ended: u64,
    pub csrf_token: String,
}

/// Sessions ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsEnded {
    pub sessions_ended: u64,
}

/// `body` with the session's new cookie set.
fn rotated<T: Serialize>(s: &AppState, session: &str, body: T) -> ApiResult<Response> {
    let ttl = s.app.settings().session_ttl.as_secs();
    let cookie = session_cookie_header(s, session, ttl)?;
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// Finish a sign-in with a second factor: the challenge from `POST /session` and a code from the
/// authenticator app (`code`) or a recovery code (`recovery_code`). Sets the session cookie. Five
/// wrong codes void the challenge; wrong codes count like wrong passwords (429 with
/// `Retry-After` when the address or client is slowed down).
#[utoipa::path(post, path = "/session/second-factor", tag = "session", security(()),
    request_body = SecondFactorInput,
    responses((status = 200, body = SessionView), (status = "4XX", body = ErrorBody)))]
pub async fn second_factor(
    State(s): State<AppState>,
    Client(client): Client,
    ApiJson(input): ApiJson<SecondFactorInput>,
) -> ApiResult<Response> {
    let login = s.app.complete_second_factor(&input, &client).await?;
    crate::api::identity::session::signed_in(&s, login, StatusCode::OK)
}

/// Re-authenticate before a sensitive action (export, erasure, deletion, tokens, security
/// settings): `password`, plus `code` or `recovery_code` when two-factor sign-in is on. The
/// session gets a new cookie and anti-CSRF token and may do sensitive things for the next ten
/// minutes.
#[utoipa::path(post, path = "/session/reauth", tag = "session", request_body = SecondFactorInput,
    responses((status = 200, body = CsrfView), (status = "4XX", body = ErrorBody)))]
pub async fn reauthenticate(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(input): ApiJson<SecondFactorInput>,
) -> ApiResult<Response> {
    let r = s.app.reauthenticate(&p, &input).await?;
    rotated(&s, &r.session, CsrfView { csrf_token: r.csrf })
}

/// How you can re-authenticate: with the password (`code`: plus an authenticator code) at
/// `POST /session/reauth`, or with a passkey at `POST /session/reauth/passkey`. Neither, for an
/// account made by single sign-on without a passkey: sign in again through the provider.
#[utoipa::path(get, path = "/session/reauth", tag = "session",
    responses((status = 200, body = ReauthMethods), (status = "4XX", body = ErrorBody)))]
pub async fn reauth_methods(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<ReauthMethods>> {
    Ok(Json(s.app.reauth_methods(&p).await?))
}

/// Start re-authenticating with one of your passkeys: WebAuthn request options for
/// `navigator.credentials.get()`, for this session only.
#[utoipa::path(post, path = "/session/reauth/passkey", tag = "session",
    responses((status = 200, body = PasskeyOptions), (status = "4XX", body = ErrorBody)))]
pub async fn start_passkey_reauth(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<PasskeyOptions>> {
    Ok(Json(s.app.start_passkey_reauth(&p).await?))
}

/// Finish re-authenticating with a passkey. The session gets a new cookie and anti-CSRF token
/// and may do sensitive things for the next ten minutes; failures count like wrong passwords.
#[utoipa::path(post, path = "/session/reauth/passkey/finish", tag = "session",
    request_body = PasskeyAssertionInput,
    responses((status = 200, body = CsrfView), (status = "4XX", body = ErrorBody)))]
pub async fn finish_passkey_reauth(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(input): ApiJson<PasskeyAssertionInput>,
) -> ApiResult<Response> {
    let r = s.app.finish_passkey_reauth(&p, input).await?;
    rotated(&s, &r.session, CsrfView { csrf_token: r.csrf })
}

/// Your live sessions, most recently used first: device, address, when started, last used, and
/// when they end (absolute and idle timeouts).
#[utoipa::path(get, path = "/me/sessions", tag = "session",
    responses((status = 200, body = Vec<ActiveSession>), (status = "4XX", body = ErrorBody)))]
pub async fn list_sessions(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<Vec<ActiveSession>>> {
    Ok(Json(s.app.sessions(&p).await?))
}

/// End every session of yours but this one.
#[utoipa::path(delete, path = "/me/sessions", tag = "session",
    responses((status = 200, body = SessionsEnded), (status = "4XX", body = ErrorBody)))]
pub async fn revoke_other_sessions(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<SessionsEnded>> {
    Ok(Json(SessionsEnded {
        sessions_ended: s.app.revoke_other_sessions(&p).await?,
    }))
}

/// End one of your sessions: its next request is unauthenticated.
#[utoipa::path(delete, path = "/me/sessions/{id}", tag = "session",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn revoke_session(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> ApiResult<StatusCode> {
    s.app.revoke_session(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change your password: the current one, the new one (12 to 256 characters, not among the
/// passwords most seen in breaches, not easy to guess), and whether to end your other sessions.
/// The session gets a new cookie; your address is told.
#[utoipa::path(put, path = "/me/password", tag = "session", request_body = PasswordChangeInput,
    responses((status = 200, body = PasswordChangedView), (status = "4XX", body = ErrorBody)))]
pub async fn change_password(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(input): ApiJson<PasswordChangeInput>,
) -> ApiResult<Response> {
    let (done, r) = s.app.change_password(&p, &input).await?;
    rotated(
        &s,
        &r.session,
        PasswordChangedView {
            sessions_ended: done.sessions_ended,
            csrf_token: r.csrf,
        },
    )
}

/// Your second factors.
#[utoipa::path(get, path = "/me/second-factors", tag = "session",
    responses((status = 200, body = SecondFactorsView), (status = "4XX", body = ErrorBody)))]
pub async fn second_factors(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<SecondFactorsView>> {
    Ok(Json(s.app.second_factors(&p).await?))
}

/// Start setting up an authenticator app (after a recent re-authentication): its secret and QR
/// code, to confirm with a code.
#[utoipa::path(post, path = "/me/second-factors/totp", tag = "session",
    responses((status = 201, body = TotpEnrolment), (status = "4XX", body = ErrorBody)))]
pub async fn start_totp(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<(StatusCode, Json<TotpEnrolment>)> {
    Ok((StatusCode::CREATED, Json(s.app.start_totp(&p).await?)))
}

/// Remove the authenticator app and the recovery codes (after a recent re-authentication).
#[utoipa::path(delete, path = "/me/second-factors/totp", tag = "session",
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn remove_totp(State(s): State<AppState>, Caller(p): Caller) -> ApiResult<StatusCode> {
    s.app.remove_totp(&p).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Confirm the authenticator with the code it shows: two-factor sign-in is on, the ten recovery
/// codes are returned once, and this session counts as two-factor under a new cookie.
#[utoipa::path(post, path = "/me/second-factors/totp/confirm", tag = "session",
    request_body = TotpConfirmInput,
    responses((status = 200, body = TotpConfirmed), (status = "4XX", body = ErrorBody)))]
pub async fn confirm_totp(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(input): ApiJson<TotpConfirmInput>,
) -> ApiResult<Response> {
    let (codes, r) = s.app.confirm_totp(&p, &input.code).await?;
    rotated(
        &s,
        &r.session,
        TotpConfirmed {
            recovery_codes: codes.codes,
            csrf_token: r.csrf,
        },
    )
}

/// Replace your recovery codes with ten new ones, shown once (after a recent
/// re-authentication).
#[utoipa::path(post, path = "/me/second-factors/recovery-codes", tag = "session",
    responses((status = 200, body = RecoveryCodes), (status = "4XX", body = ErrorBody)))]
pub async fn regenerate_recovery_codes(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<RecoveryCodes>> {
    Ok(Json(s.app.regenerate_recovery_codes(&p).await?))
}

/// The weakest sign-in the workspace lets in, for members and for admins
/// (`password` < `mfa` < `passkey`).
#[utoipa::path(get, path = "/workspaces/{slug}/security", tag = "workspace",
    params(("slug" = String, Path)),
    responses((status = 200, body = CredentialPolicyView), (status = "4XX", body = ErrorBody)))]
pub async fn get_credential_policy(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<CredentialPolicyView>> {
    let m = s
        .app
        .enter_for(&p, &slug, Some("GET /api/v1/workspaces/{slug}/security"))
        .await?;
    Ok(Json(s.app.credential_policy(&m).await?))
}

/// Set the workspace's credential policy (admins, after a recent re-authentication; not above
/// how you signed in yourself). Sessions that fall short get 403 `stronger_sign_in_required`
/// from their next request on.
#[utoipa::path(put, path = "/workspaces/{slug}/security", tag = "workspace",
    params(("slug" = String, Path)), request_body = CredentialPolicyView,
    responses((status = 200, body = CredentialPolicyView), (status = "4XX", body = ErrorBody)))]
pub async fn set_credential_policy(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiPath(slug): ApiPath<String>,
    ApiJson(input): ApiJson<CredentialPolicyView>,
) -> ApiResult<Json<CredentialPolicyView>> {
    let m = s
        .app
        .enter_for(&p, &slug, Some("PUT /api/v1/workspaces/{slug}/security"))
        .await?;
    Ok(Json(s.app.set_credential_policy(&m, &p, input).await?))
}

/// A passkey added: the passkey, and the session's new anti-CSRF token (the session now counts
/// as a passkey sign-in, under a new cookie).
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyAdded {
    pub passkey: PasskeyView,
    pub csrf_token: String,
}

/// The sign-in challenge a passkey is to answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengeInput {
    pub challenge: String,
}

/// Start adding a passkey (after a recent re-authentication): WebAuthn creation options for
/// `navigator.credentials.create()`.
#[utoipa::path(post, path = "/me/passkeys/registration", tag = "session",
    responses((status = 201, body = PasskeyOptions), (status = "4XX", body = ErrorBody)))]
pub async fn start_passkey_registration(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<(StatusCode, Json<PasskeyOptions>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.start_passkey_registration(&p).await?),
    ))
}

/// Finish adding a passkey with the browser's credential (`PublicKeyCredential.toJSON()`).
#[utoipa::path(post, path = "/me/passkeys", tag = "session", request_body = PasskeyRegistrationInput,
    responses((status = 201, body = PasskeyAdded), (status = "4XX", body = ErrorBody)))]
pub async fn finish_passkey_registration(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(input): ApiJson<PasskeyRegistrationInput>,
) -> ApiResult<Response> {
    let (passkey, r) = s.app.finish_passkey_registration(&p, input).await?;
    let mut response = rotated(
        &s,
        &r.session,
        PasskeyAdded {
            passkey,
            csrf_token: r.csrf,
        },
    )?;
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

/// Your passkeys.
#[utoipa::path(get, path = "/me/passkeys", tag = "session",
    responses((status = 200, body = Vec<PasskeyView>), (status = "4XX", body = ErrorBody)))]
pub async fn list_passkeys(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<Vec<PasskeyView>>> {
    Ok(Json(s.app.passkeys(&p).await?))
}

/// Remove one of your passkeys (after a recent re-authentication).
#[utoipa::path(delete, path = "/me/passkeys/{id}", tag = "session",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn remove_passkey(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> ApiResult<StatusCode> {
    s.app.remove_passkey(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Start signing in with a passkey alone: WebAuthn request options for
/// `navigator.credentials.get()` (the browser offers the passkeys it holds for this site).
#[utoipa::path(post, path = "/session/passkey", tag = "session", security(()),
    responses((status = 200, body = PasskeyOptions), (status = "4XX", body = ErrorBody)))]
pub async fn start_passkey_sign_in(State(s): State<AppState>) -> ApiResult<Json<PasskeyOptions>> {
    Ok(Json(s.app.start_passkey_sign_in().await?))
}

/// Finish signing in with a passkey; sets the session cookie. Failures count against the
/// client address (429 with `Retry-After` after too many).
#[utoipa::path(post, path = "/session/passkey/finish", tag = "session", security(()),
    request_body = PasskeyAssertionInput,
    responses((status = 200, body = SessionView), (status = "4XX", body = ErrorBody)))]
pub async fn finish_passkey_sign_in(
    State(s): State<AppState>,
    Client(client): Client,
    ApiJson(input): ApiJson<PasskeyAssertionInput>,
) -> ApiResult<Response> {
    let login = s.app.finish_passkey_sign_in(input, &client).await?;
    crate::api::identity::session::signed_in(&s, login, StatusCode::OK)
}

/// Passkey options for the second step of a password sign-in (the challenge from
/// `POST /session`); answer with `passkey` at `POST /session/second-factor`.
#[utoipa::path(post, path = "/session/second-factor/passkey", tag = "session", security(()),
    request_body = ChallengeInput,
    responses((status = 200, body = PasskeyOptions), (status = "4XX", body = ErrorBody)))]
pub async fn passkey_second_factor_options(
    State(s): State<AppState>,
    ApiJson(input): ApiJson<ChallengeInput>,
) -> ApiResult<Json<PasskeyOptions>> {
    Ok(Json(
        s.app
            .passkey_second_factor_options(&input.challenge)
            .await?,
    ))
}

/// The workspace's OpenID Connect single sign-on (admins; `null` when there is none), with
/// the redirect URIs to register at the provider.
#[utoipa::path(get, path = "/workspaces/{slug}/sso/oidc", tag = "workspace",
    params(("slug" = String, Path)),
    responses((status = 200, body = Option<OidcSettingsView>), (status = "4XX", body = ErrorBody)))]
pub async fn get_oidc(
    State(s): State<AppState>,
    crate::extract::Ws(m): crate::extract::Ws,
) -> ApiResult<Json<Option<OidcSettingsView>>> {
    Ok(Json(s.app.oidc_settings(&m).await?))
}

/// Set the workspace's OpenID Connect provider (admins, after a recent re-authentication): the
/// issuer (https; its discovery document is read at once), the client, and who may join on
/// first sign-in (address domains, or groups in a claim of the ID token) with which role.
#[utoipa::path(put, path = "/workspaces/{slug}/sso/oidc", tag = "workspace",
    params(("slug" = String, Path)), request_body = OidcSettingsInput,
    responses((status = 200, body = OidcSettingsView), (status = "4XX", body = ErrorBody)))]
pub async fn set_oidc(
    State(s): State<AppState>,
    crate::extract::Ws(m): crate::extract::Ws,
    ApiJson(input): ApiJson<OidcSettingsInput>,
) -> ApiResult<Json<OidcSettingsView>> {
    Ok(Json(s.app.set_oidc_settings(&m, input).await?))
}

/// Turn the workspace's single sign-on off (admins, after a recent re-authentication).
#[utoipa::path(delete, path = "/workspaces/{slug}/sso/oidc", tag = "workspace",
    params(("slug" = String, Path)),
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn remove_oidc(
    State(s): State<AppState>,
    crate::extract::Ws(m): crate::extract::Ws,
) -> ApiResult<StatusCode> {
    s.app.remove_oidc_settings(&m).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The workspace's SAML single sign-on (admins; `null` when there is none), with this
/// workspace's service-provider entity ID, assertion consumer and single logout URLs to
/// register at the identity provider (or import its metadata from the entity ID's URL).
#[utoipa::path(get, path = "/workspaces/{slug}/sso/saml", tag = "workspace",
    params(("slug" = String, Path)),
    responses((status = 200, body = Option<SamlSettingsView>), (status = "4XX", body = ErrorBody)))]
pub async fn get_saml(
    State(s): State<AppState>,
    crate::extract::Ws(m): crate::extract::Ws,
) -> ApiResult<Json<Option<SamlSettingsView>>> {
    Ok(Json(s.app.saml_settings(&m).await?))
}

/// Set the workspace's SAML identity provider (admins, after a recent re-authentication): its
/// metadata XML (a signing certificate and an HTTP-Redirect single sign-on service are
/// required), and who may join on first sign-in (address domains, or groups in an attribute)
/// with which role. Takes precedence over OpenID Connect for the workspace's sign-in.
#[utoipa::path(put, path = "/workspaces/{slug}/sso/saml", tag = "workspace",
    params(("slug" = String, Path)), request_body = SamlSettingsInput,
    responses((status = 200, body = SamlSettingsView), (status = "4XX", body = ErrorBody)))]
pub async fn set_saml(
    State(s): State<AppState>,
    crate::extract::Ws(m): crate::extract::Ws,
    ApiJson(input): ApiJson<SamlSettingsInput>,
) -> ApiResult<Json<SamlSettingsView>> {
    Ok(Json(s.app.set_saml_settings(&m, input).await?))
}

/// Turn the workspace's SAML single sign-on off (admins, after a recent re-authentication).
#[utoipa::path(delete, path = "/workspaces/{slug}/sso/saml", tag = "workspace",
    params(("slug" = String, Path)),
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn remove_saml(
    State(s): State<AppState>,
    crate::extract::Ws(m): crate::extract::Ws,
) -> ApiResult<StatusCode> {
    s.app.remove_saml_settings(&m).await?;
    Ok(StatusCode::NO_CONTENT)
}
