//! Sign-in, sign-out, the caller's account, and invitation links.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ideaweave_app::*;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Caller, Client, SESSION_COOKIE, session_cookie};

/// The `Set-Cookie` value of a session (an empty value with age 0 clears it).
pub(crate) fn session_cookie_header(
    state: &AppState,
    value: &str,
    max_age_secs: u64,
) -> Result<HeaderValue, ApiError> {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .map_err(|e| ApiError::from(AppError::internal(e.to_string())))
}

pub(crate) fn signed_in(
    state: &AppState,
    login: LoginOutcome,
    status: StatusCode,
) -> ApiResult<Response> {
    let ttl = state.app.settings().session_ttl.as_secs();
    let cookie = session_cookie_header(state, &login.session, ttl)?;
    let body = SessionView {
        user: login.user,
        csrf_token: login.csrf,
    };
    Ok((status, [(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// Sign in with email and password; sets the session cookie (200). An account with two-factor
/// sign-in gets 202 and a challenge instead, to answer at `POST /session/second-factor`, unless
/// its `code` (or `recovery_code`) came along. Wrong addresses and wrong passwords get the same
/// 403; after repeated failures for an address or from a client, 429 with `Retry-After` says
/// when to try again. While only the address is blocked, the right password with a current
/// `code` still signs in; anything less gets the same 429.
#[utoipa::path(post, path = "/session", tag = "session", security(()), request_body = LoginInput,
    responses((status = 200, body = SessionView), (status = 202, body = SecondFactorChallenge),
        (status = "4XX", body = ErrorBody)))]
pub async fn login(
    State(s): State<AppState>,
    Client(client): Client,
    ApiJson(input): ApiJson<LoginInput>,
) -> ApiResult<Response> {
    match s.app.login(&input, &client).await? {
        SignInStep::Done(login) => signed_in(&s, login, StatusCode::OK),
        SignInStep::SecondFactor(challenge) => {
            Ok((StatusCode::ACCEPTED, Json(challenge)).into_response())
        }
    }
}

/// Sign out: the session ends at once and the cookie is cleared.
#[utoipa::path(delete, path = "/session", tag = "session", responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn logout(
    State(s): State<AppState>,
    Caller(p): Caller,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(cookie) = session_cookie(&headers) {
        s.app.logout(&cookie, &p.client).await?;
    }
    let clear = session_cookie_header(&s, "", 0)?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// The caller's account and workspaces.
#[utoipa::path(get, path = "/me", tag = "session", responses((status = 200, body = MeView), (status = "4XX", body = ErrorBody)))]
pub async fn me(State(s): State<AppState>, Caller(p): Caller) -> ApiResult<Json<MeView>> {
    Ok(Json(s.app.me(&p).await?))
}

/// Everything Ideaweave holds about you, as one JSON document to keep or take elsewhere
/// (access and portability, DSR-01): your account, sessions, memberships, ideas, comments,
/// votes, ratings, files, links, API tokens and the audit events about you. Its format is
/// documented in `docs/privacy/personal-data.md` with a JSON Schema. Signed-in sessions only;
/// the download is itself recorded.
#[utoipa::path(get, path = "/me/personal-data", tag = "session",
    responses((status = 200, description = "The personal-data document (format ideaweave.personal-data/1)", content_type = "application/json"),
        (status = "4XX", body = ErrorBody)))]
pub async fn personal_data(State(s): State<AppState>, Caller(p): Caller) -> ApiResult<Response> {
    let data = s.app.personal_data(&p).await?;
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"ideaweave-personal-data.json\""),
        )],
        Json(data),
    )
        .into_response())
}

/// Whether you restricted the processing of your data (DSR-04), and since when.
#[utoipa::path(get, path = "/me/restriction", tag = "session",
    responses((status = 200, body = RestrictionView), (status = "4XX", body = ErrorBody)))]
pub async fn get_restriction(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<RestrictionView>> {
    Ok(Json(s.app.restriction(&p).await?))
}

/// Restrict (`{"restricted": true}`) or lift the restriction on the processing of your data
/// (GDPR Art. 18). While restricted, your content is frozen (nobody edits, deletes, moves or adds
/// to it), you act on nothing, and you are told nothing; you can still sign in, read and
/// download your data. Signed-in sessions only; each change is recorded.
#[utoipa::path(put, path = "/me/restriction", tag = "session", request_body = RestrictionInput,
    responses((status = 200, body = RestrictionView), (status = "4XX", body = ErrorBody)))]
pub async fn set_restriction(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(i): ApiJson<RestrictionInput>,
) -> ApiResult<Json<RestrictionView>> {
    Ok(Json(s.app.set_restriction(&p, i.restricted).await?))
}

/// The time zone you chose to read times in, if any.
#[utoipa::path(get, path = "/me/time-zone", tag = "session",
    responses((status = 200, body = TimeZoneView), (status = "4XX", body = ErrorBody)))]
pub async fn get_time_zone(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<TimeZoneView>> {
    Ok(Json(s.app.time_zone(&p).await?))
}

/// Choose the time zone pages show times in (an IANA name such as `Europe/Berlin`), or `null`
/// to follow your browser (signed-in sessions only).
#[utoipa::path(put, path = "/me/time-zone", tag = "session", request_body = TimeZoneInput,
    responses((status = 200, body = TimeZoneView), (status = "4XX", body = ErrorBody)))]
pub async fn set_time_zone(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(i): ApiJson<TimeZoneInput>,
) -> ApiResult<Json<TimeZoneView>> {
    Ok(Json(s.app.set_time_zone(&p, i).await?))
}

/// Change one's own display name (signed-in sessions only).
#[utoipa::path(patch, path = "/me", tag = "session", request_body = AccountPatch,
    responses((status = 200, body = UserView), (status = "4XX", body = ErrorBody)))]
pub async fn rename_me(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(input): ApiJson<AccountPatch>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(s.app.rename_account(&p, input).await?))
}

/// What an invitation link offers (no sign-in needed: the link is the secret).
#[utoipa::path(get, path = "/invitations/{token}", tag = "invitations", security(()),
    params(("token" = String, Path, description = "The token from the invitation link")),
    responses((status = 200, body = InvitationInfo), (status = "4XX", body = ErrorBody)))]
pub async fn invitation_info(
    State(s): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<Json<InvitationInfo>> {
    Ok(Json(s.app.invitation_info(&token).await?))
}

/// Accept an invitation. A new account gives `name` and `password` and is signed in; an
/// existing account accepts while signed in.
#[utoipa::path(post, path = "/invitations/{token}/accept", tag = "invitations", security(()),
    params(("token" = String, Path, description = "The token from the invitation link")),
    request_body = AcceptInput,
    responses((status = 200, body = MembershipView), (status = 201, body = SessionView), (status = "4XX", body = ErrorBody)))]
pub async fn accept_invitation(
    State(s): State<AppState>,
    caller: Option<Caller>,
    Client(client): Client,
    ApiPath(token): ApiPath<String>,
    ApiJson(input): ApiJson<AcceptInput>,
) -> ApiResult<Response> {
    let principal = caller.map(|c| c.0);
    let (membership, login) = s
        .app
        .accept_invitation(&token, principal.as_ref(), input, &client)
        .await?;
    match login {
        Some(login) => signed_in(&s, login, StatusCode::CREATED),
        None => Ok(Json(membership).into_response()),
    }
}

/// Change your email address (rectification, DSR-02; signed-in sessions only). A single-use
/// link is emailed to the new address; the change takes effect when it is followed
/// (`POST /email-change/{token}`), and the old address is then told.
#[utoipa::path(post, path = "/me/email", tag = "session", request_body = EmailChangeInput,
    responses((status = 202, body = EmailChangeInfo), (status = "4XX", body = ErrorBody)))]
pub async fn request_email_change(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(i): ApiJson<EmailChangeInput>,
) -> ApiResult<(StatusCode, Json<EmailChangeInfo>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(s.app.request_email_change(&p, i).await?),
    ))
}

/// What an address-change link confirms, while it works (no sign-in needed: the link is the
/// proof).
#[utoipa::path(get, path = "/email-change/{token}", tag = "session", security(()),
    params(("token" = String, Path)),
    responses((status = 200, body = EmailChangeInfo), (status = "4XX", body = ErrorBody)))]
pub async fn email_change_info(
    State(s): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<Json<EmailChangeInfo>> {
    Ok(Json(s.app.email_change_info(&token).await?))
}

/// Confirm an address change with the link's token: the account's address becomes the new one.
#[utoipa::path(post, path = "/email-change/{token}", tag = "session", security(()),
    params(("token" = String, Path)),
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn confirm_email_change(
    State(s): State<AppState>,
    Client(client): Client,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<StatusCode> {
    s.app.confirm_email_change(&token, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
