//! Personal settings: one's display name, workspaces and where to manage tokens.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use ideaweave_app::{AccountPatch, MeView};
use serde::Deserialize;

use super::guard::{Fields, Visitor, stale_form};
use super::session::role_key;
use super::{Chrome, app_error, framed, input_problem, page};
use crate::AppState;

struct Membership {
    slug: String,
    name: String,
    role_key: &'static str,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    c: Chrome,
    name: String,
    email: String,
    memberships: Vec<Membership>,
    saved: bool,
    problem: Option<String>,
}
framed!(AccountPage);

#[derive(Deserialize, Default)]
pub(crate) struct AccountQuery {
    saved: Option<String>,
}

pub(crate) async fn account_page(
    State(s): State<AppState>,
    v: Visitor,
    q: Result<Query<AccountQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let saved = q.is_ok_and(|Query(q)| q.saved.is_some());
    render(&s, v, saved, None, None).await
}

async fn render(
    s: &AppState,
    v: Visitor,
    saved: bool,
    draft: Option<String>,
    problem: Option<String>,
) -> Response {
    let MeView { user, workspaces } = match s.app.me(&v.p).await {
        Ok(me) => me,
        Err(e) => return app_error(v.c, e),
    };
    let status = if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page(
        status,
        &AccountPage {
            c: v.c,
            saved,
            problem,
            name: draft.unwrap_or(user.name),
            email: user.email,
            memberships: workspaces
                .into_iter()
                .map(|w| Membership {
                    slug: w.slug,
                    name: w.name,
                    role_key: role_key(w.role),
                })
                .collect(),
        },
    )
}

/// Saves the display name.
pub(crate) async fn update_account(
    State(s): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    f: Fields,
) -> Response {
    if !f.csrf_ok(&v.c) {
        return stale_form(&headers);
    }
    let name = f.text("name");
    match s
        .app
        .rename_account(&v.p, AccountPatch { name: name.clone() })
        .await
    {
        Ok(_) => Redirect::to("/account?saved=1").into_response(),
        Err(e) => match input_problem(&e) {
            Some(p) => render(&s, v, false, Some(name), Some(p)).await,
            None => app_error(v.c, e),
        },
    }
}
