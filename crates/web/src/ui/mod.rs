//! The server-rendered web UI: askama templates, one stylesheet, no script needed. Pages carry
//! a strict Content-Security-Policy (no inline script or style); every state-changing form
//! carries the session's anti-CSRF token, and the sign-in form is accepted only from this
//! origin.

mod i18n;

use askama::Template;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use ideaweave_app::{AppError, Credential, Principal};
use serde::Deserialize;

pub use i18n::Catalog;

use crate::AppState;
use crate::extract::{Client, session_cookie};

/// The policy of every page: styles and images from this origin only, no script at all.
const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The UI's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/static/app.css", get(stylesheet))
}

/// Renders a page with its status and the page policy.
fn page(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => (
            status,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(PAGE_CSP),
                ),
            ],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page could not be rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    tr: &'static Catalog,
    user: Option<String>,
    csrf: String,
    title_key: &'static str,
    text_key: &'static str,
}

/// A friendly error page that says nothing about what exists.
pub fn error_page(headers: &HeaderMap, status: StatusCode) -> Response {
    let (title_key, text_key) = match status {
        StatusCode::NOT_FOUND => ("error.not_found.title", "error.not_found.text"),
        StatusCode::FORBIDDEN => ("error.forbidden.title", "error.forbidden.text"),
        StatusCode::BAD_REQUEST => ("error.bad_request.title", "error.bad_request.text"),
        _ => ("error.internal.title", "error.internal.text"),
    };
    page(
        status,
        &ErrorPage {
            tr: Catalog::for_request(headers),
            user: None,
            csrf: String::new(),
            title_key,
            text_key,
        },
    )
}

/// The page for an error of a use case.
fn app_error_page(headers: &HeaderMap, e: AppError) -> Response {
    let status = match e {
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::Unauthenticated => return Redirect::to("/sign-in").into_response(),
        AppError::Invalid(_) | AppError::Malformed(_) => StatusCode::BAD_REQUEST,
        other => {
            tracing::error!(error = %other, "a page failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    error_page(headers, status)
}

/// The signed-in person of this request, if any.
async fn signed_in(s: &AppState, headers: &HeaderMap) -> Option<Principal> {
    let cookie = session_cookie(headers)?;
    s.app.authenticate(&Credential::Session(cookie)).await.ok()
}

fn role_key(role: ideaweave_domain::Role) -> &'static str {
    use ideaweave_domain::Role::*;
    match role {
        Owner => "role.owner",
        Admin => "role.admin",
        Moderator => "role.moderator",
        Member => "role.member",
        Guest => "role.guest",
    }
}

struct WorkspaceCard {
    name: String,
    role_key: &'static str,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    tr: &'static Catalog,
    user: Option<String>,
    csrf: String,
    workspaces: Vec<WorkspaceCard>,
}

async fn home(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let Some(p) = signed_in(&s, &headers).await else {
        return Redirect::to("/sign-in").into_response();
    };
    match s.app.me(&p).await {
        Ok(me) => page(
            StatusCode::OK,
            &HomePage {
                tr: Catalog::for_request(&headers),
                user: Some(me.user.name),
                csrf: p.csrf.unwrap_or_default(),
                workspaces: me
                    .workspaces
                    .into_iter()
                    .map(|w| WorkspaceCard {
                        name: w.name,
                        role_key: role_key(w.role),
                    })
                    .collect(),
            },
        ),
        Err(e) => app_error_page(&headers, e),
    }
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    tr: &'static Catalog,
    user: Option<String>,
    csrf: String,
    email: String,
    failed: bool,
}

async fn sign_in_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if signed_in(&s, &headers).await.is_some() {
        return Redirect::to("/").into_response();
    }
    page(
        StatusCode::OK,
        &SignInPage {
            tr: Catalog::for_request(&headers),
            user: None,
            csrf: String::new(),
            email: String::new(),
            failed: false,
        },
    )
}

/// The sign-in form.
#[derive(Deserialize)]
struct SignInForm {
    email: String,
    password: String,
}

/// True unless the browser says the form came from another origin (login CSRF).
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| *o != "null");
    match (origin, host) {
        (Some(o), Some(h)) => o.split_once("://").map(|(_, rest)| rest) == Some(h),
        (Some(_), None) => false,
        (None, _) => !matches!(
            headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
            Some("cross-site" | "same-site")
        ),
    }
}

async fn sign_in(
    State(s): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return error_page(&headers, StatusCode::BAD_REQUEST);
    };
    if !same_origin(&headers) {
        return error_page(&headers, StatusCode::BAD_REQUEST);
    }
    match s.app.login(&form.email, &form.password, &client).await {
        Ok(login) => {
            let ttl = s.app.settings().session_ttl.as_secs();
            match crate::api::session::session_cookie_header(&s, &login.session, ttl) {
                Ok(cookie) => (
                    StatusCode::SEE_OTHER,
                    [
                        (header::SET_COOKIE, cookie),
                        (header::LOCATION, HeaderValue::from_static("/")),
                    ],
                )
                    .into_response(),
                Err(_) => error_page(&headers, StatusCode::INTERNAL_SERVER_ERROR),
            }
        }
        Err(AppError::Forbidden(_)) => page(
            StatusCode::UNAUTHORIZED,
            &SignInPage {
                tr: Catalog::for_request(&headers),
                user: None,
                csrf: String::new(),
                email: form.email,
                failed: true,
            },
        ),
        Err(e) => app_error_page(&headers, e),
    }
}

/// A form that carries the session's anti-CSRF token.
#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn sign_out(
    State(s): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let Some(p) = signed_in(&s, &headers).await else {
        return Redirect::to("/sign-in").into_response();
    };
    let Ok(Form(form)) = form else {
        return error_page(&headers, StatusCode::BAD_REQUEST);
    };
    let expected = p.csrf.clone().unwrap_or_default();
    if expected.is_empty()
        || !crate::extract::constant_time_eq(expected.as_bytes(), form.csrf.as_bytes())
    {
        return error_page(&headers, StatusCode::BAD_REQUEST);
    }
    if let Some(cookie) = session_cookie(&headers)
        && let Err(e) = s.app.logout(&cookie, &p.client).await
    {
        return app_error_page(&headers, e);
    }
    match crate::api::session::session_cookie_header(&s, "", 0) {
        Ok(clear) => (
            StatusCode::SEE_OTHER,
            [
                (header::SET_COOKIE, clear),
                (header::LOCATION, HeaderValue::from_static("/sign-in")),
            ],
        )
            .into_response(),
        Err(_) => error_page(&headers, StatusCode::INTERNAL_SERVER_ERROR),
    }
}

async fn stylesheet() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        include_str!("../../static/app.css"),
    )
        .into_response()
}
