//! An idea's conversation: posting, replying, editing and deleting comments, and the earlier
//! versions of an edited comment for moderators (COL-03). Each form answers htmx with the whole
//! thread, focused where the reader acted, and a plain form post with the idea page.

use crate::ui::time::Moment;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use ideaweave_app::*;
use ideaweave_domain::{CommentId, IdeaId, Role};

use super::{IdeaProblem, render_idea};
use crate::AppState;
use crate::ui::format::iso;
use crate::ui::guard::{Id, InWorkspace, WsForm, from_htmx};
use crate::ui::{Chrome, OrPage, PageError, PageResult, framed, input_problem, page};

/// Most comments a thread shows.
pub(super) const THREAD_COMMENTS: u32 = 500;

/// A comment in the thread, with its depth for indentation.
pub(crate) struct CommentRow {
    pub(super) id: CommentId,
    pub(super) depth: usize,
    pub(super) author: String,
    /// Who wrote it (nil for a deleted comment, whose author is not shown).
    pub(super) author_id: ideaweave_domain::UserId,
    pub(super) body_html: String,
    pub(super) deleted: bool,
    pub(super) posted: Moment,
    /// When its author last changed it, if they did: exactly, and for `datetime`.
    pub(super) edited: Option<(String, String)>,
    /// The text as written, for its author's edit form (empty for everyone else's).
    pub(super) source: String,
    /// The reader wrote it: they may edit it.
    pub(super) mine: bool,
    /// The reader may delete it (its author, or a moderator).
    pub(super) can_delete: bool,
}

/// An edit that was refused, shown in its comment's edit form with the text kept.
pub(crate) struct EditDraft {
    pub id: CommentId,
    pub body: String,
    pub problem: String,
}

/// A comment's edit or delete form, sent open on request (`?edit=` / `?delete=` on the idea's
/// page). Sending them with every comment would double the page for the author and moderators,
/// who get them on each comment; a link asks for one (htmx swaps the thread in place).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opened {
    Edit(CommentId),
    Delete(CommentId),
}

/// The comment thread's data.
pub(crate) struct Thread {
    pub(super) slug: String,
    pub(super) idea: IdeaId,
    pub(super) rows: Vec<CommentRow>,
    pub(super) can_comment: bool,
    /// Moderators see each edited comment's earlier versions.
    pub(super) moderator: bool,
    pub(super) draft: String,
    pub(super) problem: Option<String>,
    pub(super) edit: Option<EditDraft>,
    /// The comment form asked for, shown open.
    pub(super) open: Option<Opened>,
    /// The element an in-place update leaves focused (htmx focuses it on swap).
    pub(super) focus: Option<String>,
}

impl Thread {
    /// The thread of `idea` for the member of `w`.
    pub(super) fn of(
        w: &InWorkspace,
        idea: IdeaId,
        comments: Vec<CommentView>,
        draft: String,
        problem: Option<String>,
        edit: Option<EditDraft>,
    ) -> Self {
        let moderator = w.m.role() >= Role::Moderator;
        Thread {
            slug: w.ws.slug.clone(),
            idea,
            rows: thread_rows(&w.c, comments, w.m.actor.user, moderator),
            can_comment: true,
            moderator,
            draft,
            problem,
            edit,
            open: None,
            focus: None,
        }
    }

    /// Shows comment `open`'s form open, its field focused.
    pub(super) fn opening(mut self, open: Option<Opened>) -> Self {
        self.focus = match open {
            Some(Opened::Edit(id)) => Some(format!("edit-{id}")),
            Some(Opened::Delete(id)) => Some(format!("delete-{id}")),
            None => self.focus,
        };
        self.open = open;
        self
    }

    /// The idea's page, where a comment's form is asked for.
    pub(super) fn idea_path(&self) -> String {
        format!("/w/{}/ideas/{}", self.slug, self.idea)
    }

    /// Whether comment `id`'s edit form is sent (asked for, or refused and shown again).
    pub(super) fn edit_open(&self, id: &CommentId) -> bool {
        self.editing(id).is_some() || self.open == Some(Opened::Edit(*id))
    }

    /// Whether comment `id`'s delete confirmation is sent.
    pub(super) fn delete_open(&self, id: &CommentId) -> bool {
        self.open == Some(Opened::Delete(*id))
    }

    pub(super) fn editing(&self, id: &CommentId) -> Option<&EditDraft> {
        self.edit.as_ref().filter(|e| e.id == *id)
    }

    pub(super) fn focused(&self, id: &str) -> bool {
        self.focus.as_deref() == Some(id)
    }
}

/// Orders comments as a thread: each reply under its parent, depth capped for narrow screens.
fn thread_rows(
    chrome: &Chrome,
    comments: Vec<CommentView>,
    reader: ideaweave_domain::UserId,
    moderator: bool,
) -> Vec<CommentRow> {
    use std::collections::HashMap;
    let mut children: HashMap<Option<CommentId>, Vec<usize>> = HashMap::new();
    let known: std::collections::HashSet<CommentId> = comments.iter().map(|c| c.id).collect();
    for (i, c) in comments.iter().enumerate() {
        // A reply whose parent is not on this page hangs at the top level.
        let parent = c.parent_id.filter(|p| known.contains(p));
        children.entry(parent).or_default().push(i);
    }
    let mut order = Vec::with_capacity(comments.len());
    let mut stack: Vec<(usize, usize)> = children
        .get(&None)
        .map(|v| v.iter().rev().map(|&i| (i, 0)).collect())
        .unwrap_or_default();
    while let Some((i, depth)) = stack.pop() {
        order.push((i, depth));
        if let Some(kids) = children.get(&Some(comments[i].id)) {
            stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
        }
    }
    let mut slots: Vec<Option<CommentView>> = comments.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|(i, depth)| {
            let c = slots[i].take()?;
            let mine = c.author.as_ref().is_some_and(|a| a.id == reader);
            Some(CommentRow {
                id: c.id,
                depth: depth.min(4),
                author_id: c
                    .author
                    .as_ref()
                    .map_or(ideaweave_domain::UserId(uuid::Uuid::nil()), |a| a.id),
                author: c.author.map(|a| a.name).unwrap_or_default(),
                body_html: c.body_html,
                edited: (c.updated_at > c.created_at)
                    .then(|| (chrome.exact(c.updated_at), iso(c.updated_at))),
                source: if mine { c.body } else { String::new() },
                can_delete: !c.deleted && (mine || moderator),
                mine: mine && !c.deleted,
                deleted: c.deleted,
                posted: chrome.moment(c.created_at),
            })
        })
        .collect()
}

/// The thread of `idea` as it stands, for an in-place update that leaves `focus` focused.
async fn thread_now(
    s: &AppState,
    w: &InWorkspace,
    idea: IdeaId,
    draft: String,
    problem: Option<String>,
    edit: Option<EditDraft>,
    focus: Option<String>,
) -> AppResult<Thread> {
    let comments = s
        .app
        .comments(
            &w.m,
            idea,
            PageQuery {
                cursor: None,
                limit: Some(THREAD_COMMENTS),
            },
        )
        .await?;
    let mut thread = Thread::of(w, idea, comments.items, draft, problem, edit);
    thread.focus = focus;
    Ok(thread)
}

#[derive(Template)]
#[template(path = "partials/thread_fragment.html")]
struct ThreadFragment {
    c: Chrome,
    thread: Thread,
}
framed!(ThreadFragment);

fn back_to_comment(w: &InWorkspace, idea: IdeaId, anchor: &str) -> Response {
    Redirect::to(&format!("/w/{}/ideas/{idea}#{anchor}", w.ws.slug)).into_response()
}

/// Posts a comment or a reply.
pub(super) async fn comment(
    State(s): State<AppState>,
    Id(id): Id<IdeaId>,
    headers: HeaderMap,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let body = f.text("body");
    let parent_id = f.parsed::<CommentId>("parent");
    let (draft, problem, anchor) = match s
        .app
        .create_comment(
            &w.m,
            id,
            CommentInput {
                body: body.clone(),
                parent_id,
            },
        )
        .await
    {
        Ok(c) => (String::new(), None, format!("comment-{}", c.id)),
        Err(e) => match input_problem(&e, w.c.tr) {
            // The text comes back in the form, so nothing typed is lost.
            Some(p) => (body, Some(p), String::new()),
            None => return Err(PageError::new(w.c, e)),
        },
    };
    if !from_htmx(&headers) {
        if problem.is_some() {
            return render_idea(&s, w, id, None, problem.map(IdeaProblem::Comment), draft).await;
        }
        return Ok(back_to_comment(&w, id, &anchor));
    }
    // The form keeps its id, so htmx leaves the focus where it was: on the form.
    let thread = thread_now(&s, &w, id, draft, problem, None, None)
        .await
        .or_page(&w.c)?;
    Ok(page(StatusCode::OK, &ThreadFragment { c: w.c, thread }))
}

/// Replaces the text of one's own comment; the text it had is kept for moderators.
pub(super) async fn edit_comment(
    State(s): State<AppState>,
    Id(id): Id<CommentId>,
    headers: HeaderMap,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let body = f.text("body");
    let idea = s.app.comment(&w.m, id).await.or_page(&w.c)?.idea_id;
    let edit = match s
        .app
        .update_comment(&w.m, id, CommentPatch { body: body.clone() })
        .await
    {
        Ok(_) => None,
        Err(e) => match input_problem(&e, w.c.tr) {
            Some(problem) => Some(EditDraft { id, body, problem }),
            None => return Err(PageError::new(w.c, e)),
        },
    };
    let focus = match edit {
        Some(_) => format!("edit-{id}"),
        None => format!("comment-{id}"),
    };
    if !from_htmx(&headers) {
        return match edit {
            Some(edit) => {
                render_idea(
                    &s,
                    w,
                    idea,
                    None,
                    Some(IdeaProblem::CommentEdit(edit)),
                    String::new(),
                )
                .await
            }
            None => Ok(back_to_comment(&w, idea, &focus)),
        };
    }
    // The edit form closes on success: the comment itself takes the focus.
    let thread = thread_now(&s, &w, idea, String::new(), None, edit, Some(focus))
        .await
        .or_page(&w.c)?;
    Ok(page(StatusCode::OK, &ThreadFragment { c: w.c, thread }))
}

/// Deletes a comment (its author, or a moderator); replies keep their place.
pub(super) async fn delete_comment(
    State(s): State<AppState>,
    Id(id): Id<CommentId>,
    headers: HeaderMap,
    WsForm { w, .. }: WsForm,
) -> PageResult {
    let idea = s.app.delete_comment(&w.m, id).await.or_page(&w.c)?;
    let focus = format!("comment-{id}");
    if !from_htmx(&headers) {
        return Ok(back_to_comment(&w, idea, &focus));
    }
    // Its delete button is gone: the comment's place in the thread takes the focus.
    let thread = thread_now(&s, &w, idea, String::new(), None, None, Some(focus))
        .await
        .or_page(&w.c)?;
    Ok(page(StatusCode::OK, &ThreadFragment { c: w.c, thread }))
}

/// One earlier text of a comment, ready to show.
struct VersionRow {
    body_html: String,
    written: String,
    written_iso: String,
    replaced: String,
}

#[derive(Template)]
#[template(path = "comment_history.html")]
struct HistoryPage {
    c: Chrome,
    slug: String,
    idea: IdeaId,
    author: String,
    current_html: String,
    edited: String,
    /// Newest first.
    versions: Vec<VersionRow>,
}
framed!(HistoryPage);

/// A comment's earlier versions, for moderators.
pub(super) async fn history_page(
    State(s): State<AppState>,
    w: InWorkspace,
    Id(id): Id<CommentId>,
) -> PageResult {
    let w = w.at("home");
    let h = s.app.comment_history(&w.m, id).await.or_page(&w.c)?;
    let versions = h
        .versions
        .into_iter()
        .rev()
        .map(|v| VersionRow {
            body_html: v.body_html,
            written: w.c.exact(v.written_at),
            written_iso: iso(v.written_at),
            replaced: w.c.exact(v.replaced_at),
        })
        .collect();
    Ok(page(
        StatusCode::OK,
        &HistoryPage {
            slug: w.ws.slug.clone(),
            idea: h.comment.idea_id,
            author: h.comment.author.map(|a| a.name).unwrap_or_default(),
            current_html: h.comment.body_html,
            edited: w.c.exact(h.comment.updated_at),
            versions,
            c: w.c,
        },
    ))
}
