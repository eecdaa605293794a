//! Extractors that reject bad input in the API's error shape, and the ones that authenticate.

use axum::extract::{
    FromRef, FromRequest, FromRequestParts, OptionalFromRequestParts, RawPathParams, Request,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use ideaweave_app::{ClientInfo, Credential, Member, Principal};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "iw_session";
/// The header that must echo a cookie session's CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A JSON body, at most `AppState::max_json_bytes` long; bad JSON becomes an API error: 415
/// without a JSON content type or with a charset other than UTF-8, 413 when too large, 408 when
/// the body stalls, 400 for broken syntax or a key given twice in one object (which a reader
/// could take either way: `"role":"guest","role":"owner"`), 422 for valid JSON of the wrong shape
/// (missing, unknown or mistyped fields).
pub struct ApiJson<T>(pub T);

/// Whether a `Content-Type` value is JSON in UTF-8: `application/json`, with no parameter but
/// `charset=utf-8` (RFC 8259 allows no other encoding).
fn is_utf8_json(content_type: &str) -> bool {
    let mut parts = content_type.split(';');
    if !parts
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/json")
    {
        return false;
    }
    parts.all(|p| {
        p.split_once('=').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("charset")
                && v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        })
    })
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    AppState: FromRef<S>,
    T: DeserializeOwned,
{
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = AppState::from_ref(state).max_json_bytes;
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_utf8_json);
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as UTF-8 JSON with Content-Type: application/json",
            ));
        }
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|e| body_error(&e, limit))?;
        serde_json::from_slice::<crate::json_guard::NoDuplicateKeys>(&bytes)
            .map_err(|e| ApiError::malformed(format!("the body is not valid JSON: {e}")))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::malformed(format!("the body is not valid JSON: {e}")))?;
        serde_json::from_value(value).map(Self).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                format!("the JSON body does not match: {e}"),
            )
        })
    }
}

/// The error for a request body that could not be read whole: too large, stalled, or cut off.
pub(crate) fn body_error(e: &axum::Error, limit: usize) -> ApiError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<tower_http::timeout::TimeoutError>() {
            return ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "the request body stopped arriving; send it again",
            );
        }
        if err.is::<http_body_util::LengthLimitError>() {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("JSON bodies may be at most {limit} bytes"),
            );
        }
        source = err.source();
    }
    ApiError::malformed("the request body could not be read whole")
}

/// Path parameters; a malformed id becomes a 400.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(v) =
            <axum::extract::Path<T> as FromRequestParts<S>>::from_request_parts(parts, state)
                .await?;
        Ok(Self(v))
    }
}

/// A query string; unknown or malformed parameters become a 400.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(v) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(v))
    }
}

/// The credential a request carries: a bearer token wins over a cookie.
pub fn credential(headers: &HeaderMap) -> Result<Option<Credential>, ApiError> {
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let value = auth
            .to_str()
            .map_err(|_| ApiError::malformed("the Authorization header is not ASCII"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| ApiError::from(ideaweave_app::AppError::Unauthenticated))?;
        return Ok(Some(Credential::Bearer(token.trim().to_owned())));
    }
    Ok(session_cookie(headers).map(Credential::Session))
}

/// The session cookie's value, if sent.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// The value of the cookie `name`, if sent.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Compares secrets in time that does not depend on where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks that a state-changing request made with a session cookie echoes the session's CSRF
/// token. Requests with API tokens need no such check: browsers never attach them on their own.
pub fn check_csrf(
    method: &Method,
    headers: &HeaderMap,
    principal: &Principal,
) -> Result<(), ApiError> {
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if safe {
        return Ok(());
    }
    if let Some(expected) = &principal.csrf {
        let sent = headers
            .get(CSRF_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !constant_time_eq(sent, expected.as_bytes()) {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "forbidden",
                "state-changing requests made with the session cookie must send the X-CSRF-Token header returned at sign-in",
            ));
        }
    }
    Ok(())
}

/// Where a request came from: the peer address of the connection and the `User-Agent`, for the
/// audit trail. Behind a reverse proxy the address is the proxy's.
pub struct Client(pub ClientInfo);

/// Most characters of a user agent kept.
const MAX_USER_AGENT: usize = 256;

/// A request's method and route (the matched path template, never ids or query), as the audit
/// trail records what the operator's support staff did (SUP-01).
pub fn request_line(parts: &Parts) -> String {
    let route = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| parts.uri.path().chars().take(200).collect());
    format!("{} {route}", parts.method)
}

/// The client data of a request.
pub fn client_info(parts: &Parts) -> ClientInfo {
    ClientInfo {
        ip: parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string()),
        user_agent: parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT).collect()),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(client_info(parts)))
    }
}

/// An authenticated caller (401 when there is none).
pub struct Caller(pub Principal);

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let cred = credential(&parts.headers)?.ok_or(ideaweave_app::AppError::Unauthenticated)?;
        let mut principal = state.app.authenticate(&cred).await?;
        check_csrf(&parts.method, &parts.headers, &principal)?;
        principal.client = client_info(parts);
        Ok(Self(principal))
    }
}

impl<S> OptionalFromRequestParts<S> for Caller
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        if credential(&parts.headers)?.is_none() {
            return Ok(None);
        }
        <Caller as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}

/// An authenticated member inside the workspace named by the `{slug}` path parameter.
/// Unauthenticated callers get 401; non-members and unknown workspaces alike get 404.
pub struct Ws(pub Member);

impl<S> FromRequestParts<S> for Ws
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Caller(principal) =
            <Caller as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::malformed(e.body_text()))?;
        let slug = params
            .iter()
            .find(|(k, _)| *k == "slug")
            .map(|(_, v)| v.to_owned())
            .ok_or_else(|| ApiError::malformed("missing workspace slug"))?;
        let state = AppState::from_ref(state);
        let request = request_line(parts);
        let member = state
            .app
            .enter_for(&principal, &slug, Some(&request))
            .await?;
        crate::record_workspace(&member);
        Ok(Self(member))
    }
}
