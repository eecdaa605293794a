//! The notifications centre (COL-04): a member's notifications in a workspace, read and unread,
//! opened to the idea they are about, and the forms that follow or stop following an idea or a
//! discussion.

use crate::ui::time::Moment;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use ideaweave_app::*;
use ideaweave_domain::notify::Reason;
use ideaweave_domain::{DiscussionId, IdeaId};
use serde::Deserialize;

use crate::AppState;
use crate::ui::format::{badge_count, url_encode};
use crate::ui::guard::{Id, InWorkspace, WsForm};
use crate::ui::i18n::Catalog;
use crate::ui::{Chrome, OrPage, PageError, PageResult, framed, page};

/// A piece of a notification's headline: plain words, or a name or title set in bold.
pub(crate) enum Piece {
    Text(String),
    Strong(String),
}

/// The headline of a notification in the reader's language, its names and titles in bold:
/// the catalogue's sentence for the reason with `{actor}`, `{title}` and `{stage}` filled in.
fn headline(tr: &Catalog, n: &NotificationView) -> Vec<Piece> {
    let key = match n.reason {
        Reason::Comment => "inbox.comment",
        Reason::Reply => "inbox.reply",
        Reason::Stage => "inbox.stage",
        Reason::FollowedComment => "inbox.followed_comment",
        Reason::FollowedStage => "inbox.followed_stage",
        Reason::NewIdea => "inbox.new_idea",
        Reason::Mention => "inbox.mention",
    };
    let mut pieces = Vec::new();
    let mut rest = tr.get(key);
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_owned()));
        }
        let value = match &rest[open + 1..close] {
            "actor" => n.actor.clone(),
            "title" => n.idea_title.clone(),
            "stage" => n.stage.clone().unwrap_or_default(),
            other => format!("{{{other}}}"),
        };
        pieces.push(Piece::Strong(value));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_owned()));
    }
    pieces
}

/// A notification, ready to show.
struct NoticeRow {
    id: uuid::Uuid,
    headline: Vec<Piece>,
    excerpt: Option<String>,
    at: Moment,
    read: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    c: Chrome,
    slug: String,
    rows: Vec<NoticeRow>,
    unread_only: bool,
    unread: i64,
    /// The unread count as shown: "99+" beyond 99, as on the bell.
    unread_label: String,
    /// The link to the next (older) page, if there is one.
    older: Option<String>,
    /// How many were just marked read, after "mark all read".
    marked: Option<u64>,
}
framed!(NotificationsPage);

#[derive(Deserialize, Default)]
pub(super) struct InboxParams {
    #[serde(default)]
    unread: Option<String>,
    cursor: Option<String>,
    marked: Option<u64>,
}

/// The notifications centre.
pub(super) async fn notifications_page(
    State(s): State<AppState>,
    w: InWorkspace,
    q: Result<Query<InboxParams>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let w = w.at("notifications");
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let unread_only = q.unread.as_deref() == Some("1");
    let inbox = s
        .app
        .inbox(
            &w.m,
            InboxQuery {
                unread: unread_only,
                cursor: q.cursor,
                limit: None,
            },
        )
        .await
        .or_page(&w.c)?;
    let slug = w.ws.slug.clone();
    let older = inbox.page.next_cursor.map(|c| {
        format!(
            "/w/{slug}/notifications?{}cursor={}",
            if unread_only { "unread=1&" } else { "" },
            url_encode(&c)
        )
    });
    let rows = inbox
        .page
        .items
        .iter()
        .map(|n| NoticeRow {
            id: n.id,
            headline: headline(w.c.tr, n),
            excerpt: n.excerpt.clone(),
            at: w.c.moment(n.created_at),
            read: n.read,
        })
        .collect();
    Ok(page(
        StatusCode::OK,
        &NotificationsPage {
            rows,
            unread_only,
            unread: inbox.unread,
            unread_label: badge_count(inbox.unread),
            older,
            marked: q.marked,
            slug,
            c: w.c,
        },
    ))
}

/// Opens a notification: marks it read and goes to its idea. A plain link, so it works
/// without script and from a new tab; marking read again changes nothing.
pub(super) async fn open_notification(
    State(s): State<AppState>,
    w: InWorkspace,
    Id(id): Id<uuid::Uuid>,
) -> PageResult {
    let idea = s.app.open_notification(&w.m, id).await.or_page(&w.c)?;
    Ok(Redirect::to(&format!("/w/{}/ideas/{idea}", w.ws.slug)).into_response())
}

/// Marks every notification read.
pub(super) async fn read_all(State(s): State<AppState>, WsForm { w, .. }: WsForm) -> PageResult {
    let n = s
        .app
        .mark_all_notifications_read(&w.m)
        .await
        .or_page(&w.c)?;
    Ok(Redirect::to(&format!("/w/{}/notifications?marked={n}", w.ws.slug)).into_response())
}

/// What a follow form asks: `following` is `true` to follow, `false` to stop.
fn wanted(w: &InWorkspace, f: &crate::ui::guard::Fields) -> Result<FollowState, PageError> {
    match f.get("following") {
        Some("true") => Ok(FollowState { following: true }),
        Some("false") => Ok(FollowState { following: false }),
        _ => Err(PageError::new(
            w.c.clone(),
            AppError::invalid("following", "must be true or false"),
        )),
    }
}

/// Follows or stops following an idea, from its page.
pub(super) async fn follow_idea(
    State(s): State<AppState>,
    Id(id): Id<IdeaId>,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let to = wanted(&w, &f)?;
    s.app.set_idea_follow(&w.m, id, to).await.or_page(&w.c)?;
    Ok(back(&w, &format!("ideas/{id}")))
}

/// Follows or stops following a discussion, from its page.
pub(super) async fn follow_discussion(
    State(s): State<AppState>,
    Id(id): Id<DiscussionId>,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let to = wanted(&w, &f)?;
    s.app
        .set_discussion_follow(&w.m, id, to)
        .await
        .or_page(&w.c)?;
    Ok(back(&w, &format!("discussions/{id}")))
}

fn back(w: &InWorkspace, path: &str) -> Response {
    Redirect::to(&format!("/w/{}/{path}#follow", w.ws.slug)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(reason: Reason) -> NotificationView {
        NotificationView {
            id: uuid::Uuid::nil(),
            idea_id: IdeaId::new(),
            idea_title: "<b>Title</b>".into(),
            reason,
            actor: "Ann {title}".into(),
            excerpt: None,
            stage: Some("Done".into()),
            created_at: 0,
            read: false,
        }
    }

    #[test]
    fn col_04_every_reason_has_a_headline_in_both_languages_with_names_in_bold() {
        for lang in ["en", "de"] {
            let mut h = axum::http::HeaderMap::new();
            h.insert(
                axum::http::header::ACCEPT_LANGUAGE,
                axum::http::HeaderValue::from_static(lang),
            );
            let tr = Catalog::for_request(&h);
            assert_eq!(tr.lang(), lang);
            for reason in [
                Reason::Comment,
                Reason::Reply,
                Reason::Stage,
                Reason::FollowedComment,
                Reason::FollowedStage,
                Reason::NewIdea,
                Reason::Mention,
            ] {
                let pieces = headline(tr, &notice(reason));
                let strong: Vec<&str> = pieces
                    .iter()
                    .filter_map(|p| match p {
                        Piece::Strong(s) => Some(s.as_str()),
                        Piece::Text(_) => None,
                    })
                    .collect();
                assert!(
                    strong.contains(&"Ann {title}") && strong.contains(&"<b>Title</b>"),
                    "{lang} {reason:?}: {strong:?}"
                );
                let text: String = pieces
                    .iter()
                    .map(|p| match p {
                        Piece::Text(t) | Piece::Strong(t) => t.as_str(),
                    })
                    .collect();
                assert!(!text.contains("inbox."), "{lang} {reason:?} is translated");
            }
        }
    }
}
