//! The activity view (COL-04): what happened in the workspace since the member last looked,
//! new ideas and comments of others, as far as they may see them; "Mark as seen" moves the
//! start to now.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use ideaweave_domain::{CommentId, IdeaId, UserId};

use crate::AppState;
use crate::ui::content::{IdeaCard, card};
use crate::ui::guard::{InWorkspace, WsForm};
use crate::ui::time::Moment;
use crate::ui::{Chrome, OrPage, PageResult, framed, page};

struct CommentLine {
    id: CommentId,
    idea: IdeaId,
    idea_title: String,
    author: String,
    author_id: UserId,
    excerpt: String,
    posted: Moment,
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage {
    c: Chrome,
    slug: String,
    /// Where the view starts, exactly, and whether that is the member's last visit.
    since: String,
    since_last_visit: bool,
    /// When the view was made, for "Mark all as seen".
    at: i64,
    ideas: Vec<IdeaCard>,
    comments: Vec<CommentLine>,
}
framed!(ActivityPage);

pub(super) async fn activity_page(State(s): State<AppState>, w: InWorkspace) -> PageResult {
    let w = w.at("activity");
    let a = s.app.activity(&w.m).await.or_page(&w.c)?;
    Ok(page(
        StatusCode::OK,
        &ActivityPage {
            slug: w.ws.slug.clone(),
            since: w.c.exact(a.since),
            since_last_visit: a.since_last_visit,
            at: a.at,
            ideas: a.ideas.into_iter().map(|i| card(&w.c, &w.ws, i)).collect(),
            comments: a
                .comments
                .into_iter()
                .map(|c| CommentLine {
                    id: c.id,
                    idea: c.idea_id,
                    idea_title: c.idea_title,
                    author: c.author_name,
                    author_id: c.author_id,
                    excerpt: c.excerpt,
                    posted: w.c.moment(c.created_at),
                })
                .collect(),
            c: w.c,
        },
    ))
}

pub(super) async fn mark_seen(State(s): State<AppState>, WsForm { w, f }: WsForm) -> PageResult {
    let until = f.get("until").and_then(|v| v.parse::<i64>().ok());
    s.app.mark_activity_seen(&w.m, until).await.or_page(&w.c)?;
    Ok(Redirect::to(&format!("/w/{}/activity?seen=1", w.ws.slug)).into_response())
}
