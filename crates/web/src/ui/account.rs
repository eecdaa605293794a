//! Personal settings: one's account, workspaces and where to manage tokens.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use ideaweave_app::MeView;

use super::guard::Visitor;
use super::session::role_key;
use super::{Chrome, app_error, framed, page};
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
}
framed!(AccountPage);

pub(crate) async fn account_page(State(s): State<AppState>, v: Visitor) -> Response {
    let MeView { user, workspaces } = match s.app.me(&v.p).await {
        Ok(me) => me,
        Err(e) => return app_error(v.c, e),
    };
    page(
        StatusCode::OK,
        &AccountPage {
            c: v.c,
            name: user.name,
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
