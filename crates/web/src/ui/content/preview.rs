//! Previewing a text before posting it (COL-01): in place under the form with script, as a page
//! of its own without (the form's text stays in the browser's form when one goes back).

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use crate::AppState;
use crate::ui::guard::{WsForm, from_htmx};
use crate::ui::{Chrome, OrPage, PageResult, framed, page};

#[derive(Template)]
#[template(path = "partials/preview_fragment.html")]
struct PreviewFragment {
    c: Chrome,
    html: String,
}
framed!(PreviewFragment);

#[derive(Template)]
#[template(path = "preview.html")]
struct PreviewPage {
    c: Chrome,
    html: String,
}
framed!(PreviewPage);

/// Renders the form's `body` as it will read.
pub(super) async fn preview(
    State(s): State<AppState>,
    headers: HeaderMap,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let html = s.app.preview(&w.m, &f.text("body")).await.or_page(&w.c)?;
    Ok(if from_htmx(&headers) {
        page(StatusCode::OK, &PreviewFragment { c: w.c, html })
    } else {
        page(StatusCode::OK, &PreviewPage { c: w.c, html })
    })
}
