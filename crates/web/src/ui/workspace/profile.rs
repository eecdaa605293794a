//! A member's page (COL-02): who they are in the workspace and what they wrote that the reader
//! may see.

use crate::ui::time::Moment;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use ideaweave_domain::UserId;

use crate::AppState;
use crate::ui::guard::{Id, InWorkspace};
use crate::ui::{Chrome, OrPage, PageResult, framed, page};

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/w/{slug}/people/{user_id}", get(profile_page))
}

struct IdeaLine {
    id: ideaweave_domain::IdeaId,
    title: String,
    score: i64,
    comments: i64,
    posted: Moment,
}

struct CommentLine {
    id: ideaweave_domain::CommentId,
    idea: ideaweave_domain::IdeaId,
    idea_title: String,
    excerpt: String,
    posted: Moment,
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    c: Chrome,
    slug: String,
    name: String,
    role_key: &'static str,
    joined: String,
    joined_iso: String,
    is_me: bool,
    ideas: Vec<IdeaLine>,
    comments: Vec<CommentLine>,
}
framed!(ProfilePage);

async fn profile_page(
    State(s): State<AppState>,
    w: InWorkspace,
    Id(user): Id<UserId>,
) -> PageResult {
    let w = w.at("members");
    let p = s.app.profile(&w.m, user).await.or_page(&w.c)?;
    Ok(page(
        StatusCode::OK,
        &ProfilePage {
            slug: w.ws.slug.clone(),
            is_me: p.id == w.m.actor.user,
            role_key: crate::ui::identity::session::role_key(p.role),
            joined: w.c.clock.date(w.c.tr, p.joined_at),
            joined_iso: crate::ui::format::iso(p.joined_at),
            ideas: p
                .ideas
                .into_iter()
                .map(|i| IdeaLine {
                    id: i.id,
                    title: i.title,
                    score: i.score,
                    comments: i.comment_count,
                    posted: w.c.moment(i.created_at),
                })
                .collect(),
            comments: p
                .comments
                .into_iter()
                .map(|c| CommentLine {
                    id: c.id,
                    idea: c.idea_id,
                    idea_title: c.idea_title,
                    excerpt: c.excerpt,
                    posted: w.c.moment(c.created_at),
                })
                .collect(),
            name: p.name,
            c: w.c,
        },
    ))
}
