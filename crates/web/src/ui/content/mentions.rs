//! @mentions on the writing forms (COL-04): the members suggested as one types `@` and a
//! name. The names typed become mentions when the text is saved, with or without script.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use ideaweave_app::AppError;
use serde::Deserialize;

use crate::AppState;
use crate::ui::guard::InWorkspace;

#[derive(Deserialize, Default)]
pub(super) struct SuggestParams {
    #[serde(default)]
    q: String,
}

/// Members whose name starts with what follows an `@` being typed, for the writing forms'
/// suggestions (JSON, fetched by the page's script). Someone who may not see the member list
/// (a guest) gets none.
pub(super) async fn suggest_people(
    State(s): State<AppState>,
    w: InWorkspace,
    q: Result<Query<SuggestParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let found = match s.app.mention_suggestions(&w.m, &q.q).await {
        Ok(found) => found,
        Err(AppError::Forbidden(_)) => Vec::new(),
        Err(e) => return crate::ui::app_error(w.c, e),
    };
    (
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        axum::Json(found),
    )
        .into_response()
}
