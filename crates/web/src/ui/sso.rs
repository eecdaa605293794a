//! Single sign-on pages (IDN-03): off to the workspace's identity provider and back.
//!
//! The page policy allows forms to post only here (`form-action 'self'`), and browsers apply
//! that to where a form's answer redirects. So a form never redirects to a provider: it gets a
//! page with a link there, which the page script follows at once (and a person without script
//! clicks).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use ideaweave_app::{AppError, Credential};
use serde::Deserialize;

use super::session::{safe_next, start_session};
use super::{Chrome, error_page_with, framed, page};
use crate::AppState;
use crate::extract::{Client, session_cookie};

#[derive(Template)]
#[template(path = "sso_continue.html")]
pub(crate) struct ContinuePage {
    pub c: Chrome,
    pub title_key: &'static str,
    pub text_key: &'static str,
    pub link_key: &'static str,
    pub url: String,
}
framed!(ContinuePage);

#[derive(Deserialize)]
pub(crate) struct StartQuery {
    workspace: Option<String>,
    next: Option<String>,
}

/// The sign-in page's "single sign-on" form: the workspace's short name.
pub(crate) async fn start_form(
    State(s): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<StartQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return super::error_page(&headers, StatusCode::BAD_REQUEST);
    };
    let slug = q.workspace.unwrap_or_default().trim().to_lowercase();
    let next = safe_next(q.next.as_deref()).to_owned();
    match s.app.start_oidc(&slug, &next).await {
        Ok(url) => page(
            StatusCode::OK,
            &ContinuePage {
                c: Chrome::anonymous(&headers),
                title_key: "sso.title",
                text_key: "sso.continue_text",
                link_key: "sso.continue",
                url,
            },
        ),
        Err(e) => failed(&headers, e),
    }
}

/// `GET /sso/{slug}/oidc/start`: a link (not a form) may go straight to the provider.
pub(crate) async fn start(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    q: Result<Query<StartQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let next = safe_next(q.ok().and_then(|Query(q)| q.next).as_deref()).to_owned();
    match s.app.start_oidc(&slug, &next).await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => failed(&headers, e),
    }
}

#[derive(Deserialize)]
pub(crate) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The provider's answer.
pub(crate) async fn callback(
    State(s): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    Path(slug): Path<String>,
    q: Result<Query<CallbackQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return super::error_page(&headers, StatusCode::BAD_REQUEST);
    };
    if let Some(error) = q.error {
        let why = q.error_description.unwrap_or(error);
        let why: String = why.chars().filter(|c| !c.is_control()).take(200).collect();
        return failed(
            &headers,
            AppError::Forbidden(format!("single sign-on failed: the provider said {why:?}")),
        );
    }
    let (Some(code), Some(state)) = (q.code, q.state) else {
        return super::error_page(&headers, StatusCode::BAD_REQUEST);
    };
    let current = match session_cookie(&headers) {
        Some(cookie) => s.app.authenticate(&Credential::Session(cookie)).await.ok(),
        None => None,
    };
    match s
        .app
        .finish_oidc(&slug, &code, &state, current.as_ref(), &client)
        .await
    {
        Ok((login, next)) => start_session(&s, &headers, &login, safe_next(Some(&next))),
        Err(e) => failed(&headers, e),
    }
}

/// A single-sign-on failure, with what went wrong: it is about the visitor's own sign-in.
fn failed(headers: &HeaderMap, e: AppError) -> Response {
    let status = match e {
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::Conflict(_) => StatusCode::BAD_GATEWAY,
        AppError::Internal(_) | AppError::Integrity(_) => {
            tracing::error!(error = %e, "single sign-on failed");
            return super::error_page(headers, StatusCode::INTERNAL_SERVER_ERROR);
        }
        _ => StatusCode::BAD_REQUEST,
    };
    let detail = match e {
        AppError::NotFound(_) => None,
        other => Some(other.to_string()),
    };
    error_page_with(Chrome::anonymous(headers), status, detail, None)
}
