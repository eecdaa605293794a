//! The content pages: workspace home, spaces, discussions, ideas with their votes, ratings,
//! comments, files and links, and the forms that post and edit ideas. Votes, ratings and
//! comments answer htmx with the changed fragment and plain form posts with a redirect back.

use crate::ui::time::Moment;
use askama::Template;
use axum::Router;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use ideaweave_app::*;
use ideaweave_domain::{
    CommentId, CriterionId, DiscussionId, IdeaId, Role, SpaceId, StageId, VoteDirection,
    paging::IdeaSort,
};
use serde::Deserialize;

use super::format::{size, url_encode};
use super::guard::{Fields, Id, InWorkspace, WsForm, from_htmx, stale_form};
use super::{
    Chrome, OrPage, PageError, PageResult, Problem, Refusal, app_error, form_problem, form_refusal,
    framed, page,
};
use crate::AppState;

mod activity;
mod comments;
mod files;
pub(crate) mod inbox;
mod manage;
mod mentions;
mod preview;
mod search;

use comments::{EditDraft, Opened, THREAD_COMMENTS, Thread};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .merge(manage::router())
        .route("/w/{slug}", get(workspace_home))
        .route("/w/{slug}/spaces/{space_id}", get(space_page))
        .route(
            "/w/{slug}/spaces/{space_id}/discussions",
            post(open_discussion),
        )
        .route(
            "/w/{slug}/discussions/{discussion_id}",
            get(discussion_page),
        )
        .route(
            "/w/{slug}/discussions/{discussion_id}/new",
            get(new_idea_page).post(post_idea),
        )
        .route("/w/{slug}/ideas/{idea_id}", get(idea_page))
        .route(
            "/w/{slug}/ideas/{idea_id}/edit",
            get(edit_idea_page).post(edit_idea),
        )
        .route(
            "/w/{slug}/ideas/{idea_id}/delete",
            get(delete_idea_page).post(delete_idea),
        )
        .route("/w/{slug}/search", get(search::search_page))
        .route("/w/{slug}/ideas/similar", get(search::similar_ideas))
        .route("/w/{slug}/activity", get(activity::activity_page))
        .route("/w/{slug}/activity/seen", post(activity::mark_seen))
        .route("/w/{slug}/notifications", get(inbox::notifications_page))
        .route("/w/{slug}/people/suggest", get(mentions::suggest_people))
        .route("/w/{slug}/preview", post(preview::preview))
        .route("/w/{slug}/notifications/read", post(inbox::read_all))
        .route(
            "/w/{slug}/notifications/{notification_id}/open",
            get(inbox::open_notification),
        )
        .route("/w/{slug}/ideas/{idea_id}/follow", post(inbox::follow_idea))
        .route(
            "/w/{slug}/discussions/{discussion_id}/follow",
            post(inbox::follow_discussion),
        )
        .route("/w/{slug}/ideas/{idea_id}/vote", post(vote))
        .route("/w/{slug}/ideas/{idea_id}/rate", post(rate))
        .route(
            "/w/{slug}/ideas/{idea_id}/comments",
            post(comments::comment),
        )
        .route(
            "/w/{slug}/comments/{comment_id}/edit",
            post(comments::edit_comment),
        )
        .route(
            "/w/{slug}/comments/{comment_id}/delete",
            post(comments::delete_comment),
        )
        .route(
            "/w/{slug}/comments/{comment_id}/history",
            get(comments::history_page),
        )
        .route("/w/{slug}/ideas/{idea_id}/stage", post(set_stage))
        .route("/w/{slug}/ideas/{idea_id}/attachments", post(files::attach))
        .route("/w/{slug}/ideas/{idea_id}/links", post(files::add_link))
        .route(
            "/w/{slug}/attachments/{attachment_id}/remove",
            post(files::remove_file),
        )
        .route("/w/{slug}/links/{link_id}/remove", post(files::remove_link))
        .route("/w/{slug}/ideas/{idea_id}/restore", post(restore_idea))
        .route("/w/{slug}/ideas/{idea_id}/merge", post(merge_idea))
        .route("/w/{slug}/ideas/{idea_id}/unmerge", post(unmerge_idea))
}

/// The name of a stage, for badges.
fn stage_name(ws: &WorkspaceView, id: StageId) -> String {
    ws.stages
        .iter()
        .find(|s| s.id == id)
        .map(|s| s.name.clone())
        .unwrap_or_default()
}

/// An idea in a list, ready to show.
pub(crate) struct IdeaCard {
    pub id: IdeaId,
    pub title: String,
    pub excerpt: String,
    pub author: String,
    pub author_id: ideaweave_domain::UserId,
    pub stage: String,
    pub tags: Vec<String>,
    pub score: i64,
    pub comments: i64,
    pub posted: Moment,
}

fn card(c: &Chrome, ws: &WorkspaceView, i: IdeaSummary) -> IdeaCard {
    IdeaCard {
        id: i.id,
        stage: stage_name(ws, i.stage_id),
        title: i.title,
        excerpt: i.excerpt,
        author_id: i.author.id,
        author: i.author.name,
        tags: i.tags,
        score: i.score,
        comments: i.comment_count,
        posted: c.moment(i.created_at),
    }
}

// ---- workspace home ------------------------------------------------------------------------

struct SpaceCard {
    space: SpaceView,
    discussions: Vec<DiscussionView>,
}

#[derive(Template)]
#[template(path = "workspace.html")]
struct WorkspacePage {
    c: Chrome,
    slug: String,
    name: String,
    spaces: Vec<SpaceCard>,
    recent: Vec<IdeaCard>,
    is_admin: bool,
    /// When the workspace will be deleted, if an owner asked (LIF-02).
    deletion_due: Option<String>,
    /// For someone who has written nothing here yet: the next steps.
    welcome: Option<Welcome>,
    /// The first discussion that takes ideas, for the empty states' call to action.
    open_discussion: Option<ideaweave_domain::DiscussionId>,
}
framed!(WorkspacePage);

/// A newcomer's next steps on the workspace's home.
struct Welcome {
    /// Where to post a first idea (members and up, when a discussion takes ideas).
    post_in: Option<DiscussionId>,
    /// Whether they may see the member list (not guests).
    members: bool,
}

/// How many of the newest ideas the home page shows.
const RECENT_IDEAS: usize = 6;

async fn workspace_home(State(s): State<AppState>, w: InWorkspace) -> PageResult {
    let w = w.at("home");
    let is_admin = w.is_admin();
    let spaces = s.app.spaces(&w.m).await.or_page(&w.c)?;
    let mut cards = Vec::with_capacity(spaces.len());
    let mut recent = Vec::new();
    for space in spaces {
        let discussions = s.app.discussions(&w.m, space.id).await.or_page(&w.c)?;
        for d in discussions.iter().filter(|d| d.idea_count > 0) {
            let q = IdeaListQuery {
                sort: Some(IdeaSort::Newest),
                limit: Some(RECENT_IDEAS as u32),
                ..Default::default()
            };
            match s.app.ideas(&w.m, d.id, q).await {
                Ok(p) => recent.extend(p.items),
                Err(e) => return Err(PageError::new(w.c, e)),
            }
        }
        cards.push(SpaceCard { space, discussions });
    }
    recent.sort_by_key(|i| std::cmp::Reverse(i.created_at));
    recent.truncate(RECENT_IDEAS);
    let recent = recent.into_iter().map(|i| card(&w.c, &w.ws, i)).collect();
    let deletion_due = match s.app.termination(&w.m).await {
        Ok(t) => t.due_at.map(|d| w.c.exact(d)),
        Err(e) => return Err(PageError::new(w.c, e)),
    };
    let open_discussion = cards
        .iter()
        .flat_map(|c| c.discussions.iter())
        .find(|d| d.accepting_ideas)
        .map(|d| d.id)
        .filter(|_| w.m.role() >= Role::Member);
    let welcome = s
        .app
        .is_newcomer(&w.m)
        .await
        .or_page(&w.c)?
        .then(|| Welcome {
            post_in: open_discussion,
            members: w.m.role() >= Role::Member,
        });
    Ok(page(
        StatusCode::OK,
        &WorkspacePage {
            deletion_due,
            slug: w.ws.slug.clone(),
            name: w.ws.name.clone(),
            c: w.c,
            spaces: cards,
            recent,
            is_admin,
            welcome,
            open_discussion,
        },
    ))
}

// ---- space -----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "space.html")]
struct SpacePage {
    c: Chrome,
    slug: String,
    space: SpaceView,
    discussions: Vec<DiscussionView>,
    criteria: Vec<CriterionView>,
    can_open: bool,
    /// The new discussion's form: refused input at its field, what was typed kept.
    problem: Problem,
    draft: manage::Draft,
    /// A discussion of the space was just deleted (the redirect after it says so).
    deleted: bool,
}
framed!(SpacePage);

async fn render_space(
    s: &AppState,
    w: InWorkspace,
    id: SpaceId,
    problem: Option<Refusal>,
    draft: manage::Draft,
    deleted: bool,
) -> PageResult {
    let space = s.app.space(&w.m, id).await.or_page(&w.c)?;
    let discussions = s.app.discussions(&w.m, id).await.or_page(&w.c)?;
    let problem = Problem(problem);
    Ok(page(
        problem.status(),
        &SpacePage {
            slug: w.ws.slug.clone(),
            can_open: w.m.role() >= Role::Moderator,
            criteria: w.ws.criteria,
            c: w.c,
            space,
            discussions,
            problem,
            draft,
            deleted,
        },
    ))
}

/// The space page's query: `deleted` after a discussion of it was deleted.
#[derive(Debug, Default, Deserialize)]
struct SpaceQuery {
    deleted: Option<String>,
}

async fn space_page(
    State(s): State<AppState>,
    w: InWorkspace,
    Id(id): Id<SpaceId>,
    q: Result<Query<SpaceQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let deleted = q.is_ok_and(|Query(q)| q.deleted.is_some());
    render_space(&s, w.at("home"), id, None, manage::Draft::empty(), deleted).await
}

async fn open_discussion(
    State(s): State<AppState>,
    Id(space): Id<SpaceId>,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let draft = manage::Draft::typed(&f);
    let deadline = match draft.deadline_ms(w.c.tr) {
        Ok(deadline) => deadline,
        Err(refusal) => return render_space(&s, w, space, Some(refusal), draft, false).await,
    };
    let input = DiscussionInput {
        kind: draft.kind,
        title: draft.title.clone(),
        description: draft.description.clone(),
        deadline,
        criteria: draft.criteria.clone(),
    };
    Ok(match s.app.create_discussion(&w.m, space, input).await {
        Ok(d) => Redirect::to(&format!("/w/{}/discussions/{}", w.ws.slug, d.id)).into_response(),
        Err(e) => {
            let r = form_refusal(e, &w.c)?;
            render_space(&s, w, space, Some(r), draft, false).await?
        }
    })
}

// ---- discussion ------------------------------------------------------------------------------

/// The discussion page's query: list or board, and the list's order and filters.
#[derive(Debug, Default, Deserialize)]
struct DiscussionQuery {
    view: Option<String>,
    sort: Option<String>,
    stage: Option<String>,
    tag: Option<String>,
    /// `1`: only the reader's own ideas.
    mine: Option<String>,
    /// `YYYY-MM-DD`: posted on or after that day (the reader's day, in their zone).
    from: Option<String>,
    /// `YYYY-MM-DD`: posted on or before that day (the reader's day, in their zone).
    to: Option<String>,
    /// The page number, from 1 (on the board, of the column `col`).
    page: Option<u32>,
    /// On the board: the stage whose column `page` pages.
    col: Option<String>,
}

/// Where a numbered list stands: "26–50 of 1,204" and the neighbouring pages.
struct Paging {
    first: i64,
    last: i64,
    total: i64,
    prev: Option<String>,
    next: Option<String>,
}

/// A column of the board: one stage's ideas, a page at a time ("21–40 of 53").
struct Column {
    stage: StageView,
    ideas: Vec<IdeaCard>,
    first: i64,
    last: i64,
    total: i64,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "discussion.html")]
struct DiscussionPage {
    c: Chrome,
    slug: String,
    d: DiscussionView,
    stages: Vec<StageView>,
    board: bool,
    sort: &'static str,
    stage: String,
    tag: String,
    ideas: Vec<IdeaCard>,
    columns: Vec<Column>,
    /// On the board: the column paged through and its page, which a card's move keeps.
    board_col: Option<(StageId, u32)>,
    paging: Option<Paging>,
    mine: bool,
    from: String,
    to: String,
    /// A date filter that could not be read, said at its field.
    date_problem: Option<&'static str>,
    can_post: bool,
    /// Moderators and up get the link to the management page.
    can_manage: bool,
    deadline: Option<String>,
}
framed!(DiscussionPage);

/// How many ideas a board column shows.
const COLUMN_IDEAS: u32 = 20;

/// The last page a board column reaches (the API skips at most 10,000 ideas).
const MAX_COLUMN_PAGE: u32 = 10_000 / COLUMN_IDEAS + 1;

/// How many ideas a page of the list shows.
const PAGE_IDEAS: u32 = 25;

/// What a board shows, carried by each card's stage form so that a move returns to the same
/// board: its order, its tag filter, and the page of the one column paged through.
struct BoardView<'a> {
    sort: &'static str,
    tag: Option<&'a str>,
    col: Option<(StageId, u32)>,
}

impl<'a> BoardView<'a> {
    /// The view a card's form sent back (anything unreadable falls back to the plain board).
    fn from_form(f: &'a Fields) -> Self {
        Self {
            sort: idea_order(f.get("sort")).1,
            // Longer than any tag: a forged form would only make the address long.
            tag: f
                .get("tag")
                .map(str::trim)
                .filter(|t| !t.is_empty() && t.chars().count() <= 64),
            col: f
                .parsed::<StageId>("col")
                .zip(f.parsed::<u32>("page"))
                .map(|(c, n)| (c, n.clamp(1, MAX_COLUMN_PAGE))),
        }
    }

    /// The board's address (without a fragment).
    fn link(&self, slug: &str, discussion: DiscussionId) -> String {
        let mut link = format!(
            "/w/{slug}/discussions/{discussion}?view=board&sort={}",
            self.sort
        );
        if let Some((col, n)) = self.col {
            link.push_str(&format!("&col={col}&page={n}"));
        }
        if let Some(t) = self.tag {
            link.push_str(&format!("&tag={}", url_encode(t)));
        }
        link
    }
}

/// An idea order and its name as links carry it; anything else is the default, top voted.
fn idea_order(sent: Option<&str>) -> (IdeaSort, &'static str) {
    match sent {
        Some("newest") => (IdeaSort::Newest, "newest"),
        Some("trending") => (IdeaSort::Trending, "trending"),
        _ => (IdeaSort::Top, "top"),
    }
}

/// The last page a numbered list reaches (the API skips at most 10,000 ideas); further on,
/// the filters narrow the list.
const MAX_PAGE: u32 = 10_000 / PAGE_IDEAS + 1;

async fn discussion_page(
    State(s): State<AppState>,
    w: InWorkspace,
    Id(id): Id<DiscussionId>,
    q: Result<Query<DiscussionQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let w = w.at("home");
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let d = s.app.discussion(&w.m, id).await.or_page(&w.c)?;
    let (sort, sort_name) = idea_order(q.sort.as_deref());
    let stage: Option<StageId> = q
        .stage
        .as_deref()
        .filter(|v| !v.is_empty())
        .and_then(|v| serde_json::from_value(serde_json::Value::String(v.to_owned())).ok());
    let tag = q
        .tag
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let board = q.view.as_deref() == Some("board");
    let mine = q.mine.as_deref() == Some("1");
    let day_of = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| (v.to_owned(), w.c.clock.day_span(v)))
    };
    let (from, to) = (day_of(&q.from), day_of(&q.to));
    let date_problem = match (&from, &to) {
        (Some((_, None)), _) | (_, Some((_, None))) => Some("discussion.bad_date"),
        (Some((_, Some(a))), Some((_, Some(b)))) if a.0 > b.0 => Some("discussion.dates_reversed"),
        _ => None,
    };
    let since = from
        .as_ref()
        .and_then(|(_, span)| *span)
        .filter(|_| date_problem.is_none())
        .map(|(start, _)| start);
    let until = to
        .as_ref()
        .and_then(|(_, span)| *span)
        .filter(|_| date_problem.is_none())
        .map(|(_, end)| end);
    let page_no = q.page.unwrap_or(1).clamp(1, MAX_PAGE);
    let mut ideas = Vec::new();
    let mut columns = Vec::new();
    let mut board_col = None;
    let mut paging = None;
    if board {
        let paged: Option<StageId> = q
            .col
            .as_deref()
            .and_then(|v| serde_json::from_value(serde_json::Value::String(v.to_owned())).ok());
        board_col = paged
            .filter(|c| w.ws.stages.iter().any(|st| st.id == *c))
            .map(|c| (c, q.page.unwrap_or(1).clamp(1, MAX_COLUMN_PAGE)));
        for st in &w.ws.stages {
            // Only the column paged through moves; the others stay at their first page.
            let col_page = if paged == Some(st.id) {
                q.page.unwrap_or(1).clamp(1, MAX_COLUMN_PAGE)
            } else {
                1
            };
            let lq = IdeaListQuery {
                sort: Some(sort),
                stage: Some(st.id),
                tag: tag.clone(),
                offset: Some((col_page - 1).saturating_mul(COLUMN_IDEAS)),
                limit: Some(COLUMN_IDEAS),
                ..Default::default()
            };
            let link = |n: u32| {
                let view = BoardView {
                    sort: sort_name,
                    tag: tag.as_deref(),
                    col: Some((st.id, n)),
                };
                format!("{}#col-{}", view.link(&w.ws.slug, id), st.id)
            };
            match s.app.ideas(&w.m, id, lq).await {
                Ok(p) => {
                    // Past the column's end (an old link): to its last page.
                    if p.items.is_empty() && col_page > 1 {
                        let last_page = u32::try_from((p.total - 1) / i64::from(COLUMN_IDEAS) + 1)
                            .unwrap_or(1)
                            .min(MAX_COLUMN_PAGE);
                        return Ok(Redirect::to(&link(last_page)).into_response());
                    }
                    let first = i64::from((col_page - 1) * COLUMN_IDEAS) + 1;
                    columns.push(Column {
                        stage: StageView {
                            id: st.id,
                            name: st.name.clone(),
                            position: st.position,
                        },
                        first,
                        last: first + p.items.len() as i64 - 1,
                        total: p.total,
                        prev: (col_page > 1).then(|| link(col_page - 1)),
                        next: p
                            .next_cursor
                            .as_ref()
                            .filter(|_| col_page < MAX_COLUMN_PAGE)
                            .map(|_| link(col_page + 1)),
                        ideas: p.items.into_iter().map(|i| card(&w.c, &w.ws, i)).collect(),
                    });
                }
                Err(e) => return Err(PageError::new(w.c, e)),
            }
        }
    } else {
        let lq = IdeaListQuery {
            sort: Some(sort),
            stage,
            tag: tag.clone(),
            mine: Some(mine),
            since,
            until,
            offset: Some((page_no - 1).saturating_mul(PAGE_IDEAS)),
            limit: Some(PAGE_IDEAS),
            ..Default::default()
        };
        match s.app.ideas(&w.m, id, lq).await {
            Ok(p) => {
                let shown = p.items.len() as i64;
                let first = i64::from((page_no - 1) * PAGE_IDEAS) + 1;
                let link = |n: u32| {
                    let mut link = format!(
                        "/w/{}/discussions/{}?sort={sort_name}&page={n}",
                        w.ws.slug, id
                    );
                    if let Some(st) = stage {
                        link.push_str(&format!("&stage={st}"));
                    }
                    if let Some(t) = &tag {
                        link.push_str(&format!("&tag={}", url_encode(t)));
                    }
                    if mine {
                        link.push_str("&mine=1");
                    }
                    for (name, v) in [("from", &from), ("to", &to)] {
                        if let Some((day, _)) = v {
                            link.push_str(&format!("&{name}={}", url_encode(day)));
                        }
                    }
                    link
                };
                // Past the end (an old link, or filters that narrowed the list): to the last page.
                if shown == 0 && page_no > 1 && p.total > 0 {
                    let last_page = u32::try_from((p.total - 1) / i64::from(PAGE_IDEAS) + 1)
                        .unwrap_or(1)
                        .min(MAX_PAGE);
                    return Ok(Redirect::to(&link(last_page)).into_response());
                }
                paging = (shown > 0).then(|| Paging {
                    first,
                    last: first + shown - 1,
                    total: p.total,
                    prev: (page_no > 1).then(|| link(page_no - 1)),
                    next: p
                        .next_cursor
                        .as_ref()
                        .filter(|_| page_no < MAX_PAGE)
                        .map(|_| link(page_no + 1)),
                });
                ideas = p.items.into_iter().map(|i| card(&w.c, &w.ws, i)).collect();
            }
            Err(e) => return Err(PageError::new(w.c, e)),
        }
    }
    let stages =
        w.ws.stages
            .iter()
            .map(|s| StageView {
                id: s.id,
                name: s.name.clone(),
                position: s.position,
            })
            .collect();
    Ok(page(
        StatusCode::OK,
        &DiscussionPage {
            slug: w.ws.slug.clone(),
            can_post: may_post(&d, &w),
            can_manage: w.m.role() >= Role::Moderator,
            deadline: d.deadline.map(|ms| w.c.exact(ms)),
            c: w.c,
            d,
            stages,
            board,
            sort: sort_name,
            stage: stage.map(|s| s.to_string()).unwrap_or_default(),
            tag: tag.unwrap_or_default(),
            ideas,
            columns,
            board_col,
            paging,
            mine,
            from: from.map(|(d, _)| d).unwrap_or_default(),
            to: to.map(|(d, _)| d).unwrap_or_default(),
            date_problem,
        },
    ))
}

// ---- new idea --------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "idea_form.html")]
struct IdeaFormPage {
    c: Chrome,
    /// Where the form posts.
    action: String,
    /// Where "cancel" goes.
    back: String,
    heading: String,
    new: bool,
    title: String,
    body: String,
    tags: String,
    problem: Option<Refusal>,
    /// A file was chosen but the form came back: browsers do not keep it, so the page says so.
    file_lost: bool,
    max_upload: String,
    slug: String,
    /// Where the title field asks for similar ideas as it is typed (new ideas only).
    similar_url: Option<String>,
    /// Ideas like the title, when the form comes back with one (COL-05).
    similar: Vec<SimilarIdea>,
}
framed!(IdeaFormPage);

impl IdeaFormPage {
    const FIELDS: [&'static str; 4] = ["title", "body", "tags", "file"];

    /// The refusal at `field`, for the template.
    fn error(&self, field: &str) -> Option<&str> {
        self.problem.as_ref().and_then(|p| p.at(field))
    }

    /// A refusal about none of the form's fields.
    fn general_problem(&self) -> Option<&str> {
        self.problem.as_ref().and_then(|p| p.above(&Self::FIELDS))
    }
}

struct Draft {
    title: String,
    body: String,
    tags: String,
}

fn tags_of(text: &str) -> Vec<String> {
    ideaweave_domain::Tag::split_typed(text)
}

/// Whether the edit form and links are offered: to the author (a member still) and to
/// moderators, as the rule that decides the change itself allows.
fn may_edit(idea: &IdeaSummary, w: &InWorkspace) -> bool {
    let role = w.m.role();
    (idea.author.id == w.m.actor.user && role >= Role::Member) || role >= Role::Moderator
}

/// The 403 page shown instead of a form the visitor could not send, saying why (`why`: a
/// catalogue key).
fn form_not_offered(w: InWorkspace, why: &'static str) -> Response {
    let why = w.c.tr.get(why).to_owned();
    super::error_page_with(w.c, StatusCode::FORBIDDEN, Some(why), None)
}

/// Whether the new-idea form is offered: only where posting would be allowed (members and up,
/// in a discussion taking ideas), so nobody types an idea only to be refused.
fn may_post(d: &DiscussionView, w: &InWorkspace) -> bool {
    d.accepting_ideas && w.m.role() >= Role::Member
}

async fn render_new_idea(
    s: &AppState,
    w: InWorkspace,
    d: DiscussionId,
    draft: Draft,
    problem: Option<Refusal>,
    file_lost: bool,
) -> PageResult {
    let discussion = s.app.discussion(&w.m, d).await.or_page(&w.c)?;
    if !may_post(&discussion, &w) {
        return Ok(form_not_offered(w, "idea.cannot_post"));
    }
    let status = if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let heading = format!("{} · {}", w.c.tr.get("idea.new"), discussion.title);
    let similar = similar_or_none(s, &w, &draft.title, None, None).await;
    Ok(page(
        status,
        &IdeaFormPage {
            action: format!("/w/{}/discussions/{d}/new", w.ws.slug),
            back: format!("/w/{}/discussions/{d}", w.ws.slug),
            heading,
            new: true,
            title: draft.title,
            body: draft.body,
            tags: draft.tags,
            problem,
            file_lost,
            max_upload: size(s.app.settings().max_upload_bytes as i64),
            similar_url: Some(format!("/w/{}/ideas/similar", w.ws.slug)),
            slug: w.ws.slug.clone(),
            similar,
            c: w.c,
        },
    ))
}

/// Ideas like `title` for a page (in `discussion`, if given), or none when search cannot say
/// now (the page is still shown: similar ideas are a help, not a condition).
pub(super) async fn similar_or_none(
    s: &AppState,
    w: &InWorkspace,
    title: &str,
    discussion: Option<DiscussionId>,
    exclude: Option<IdeaId>,
) -> Vec<SimilarIdea> {
    match s.app.similar_ideas(&w.m, title, discussion, exclude).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "similar ideas could not be found");
            Vec::new()
        }
    }
}

async fn new_idea_page(
    State(s): State<AppState>,
    w: InWorkspace,
    Id(d): Id<DiscussionId>,
) -> PageResult {
    let draft = Draft {
        title: String::new(),
        body: String::new(),
        tags: String::new(),
    };
    render_new_idea(&s, w.at("home"), d, draft, None, false).await
}

fn multipart_problem(e: MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge("the upload is larger than allowed".into())
    } else {
        AppError::Malformed(format!("the form could not be read: {}", e.body_text()))
    }
}

/// Posts an idea from the multipart form: its text fields come first (the page orders them so),
/// then the optional file, which is streamed into the sealed file store as it arrives.
async fn post_idea(
    State(s): State<AppState>,
    w: InWorkspace,
    Id(d): Id<DiscussionId>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let Ok(mut multipart) = multipart else {
        return Ok(stale_form(&HeaderMap::new()));
    };
    let mut csrf = String::new();
    let mut draft = Draft {
        title: String::new(),
        body: String::new(),
        tags: String::new(),
    };
    let mut created: Option<IdeaView> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let problem = Refusal::of(&multipart_problem(e), w.c.tr);
                return Ok(match created {
                    Some(idea) => uploaded_badly(&w, idea.summary.id),
                    None => render_new_idea(&s, w, d, draft, problem, false).await?,
                });
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let filename = field.file_name().unwrap_or_default().to_owned();
            if filename.is_empty() {
                continue;
            }
            let idea = match &created {
                Some(i) => i.summary.id,
                None => {
                    if !super::guard::csrf_ok(Some(&w.c.csrf), &csrf) {
                        return Ok(stale_form(&HeaderMap::new()));
                    }
                    match create(&s, &w, d, &draft).await {
                        Ok(i) => {
                            let id = i.summary.id;
                            created = Some(i);
                            id
                        }
                        Err(e) => {
                            // The file part is not read: the form comes back without it.
                            return Ok(match Refusal::of(&e, w.c.tr) {
                                Some(p) => render_new_idea(&s, w, d, draft, Some(p), true).await?,
                                None => app_error(w.c, e),
                            });
                        }
                    }
                }
            };
            let body = field.map(|piece| piece.map_err(multipart_problem));
            if let Err(e) = s.app.upload(&w.m, idea, None, &filename, body).await {
                if !crate::error::meaning(&e).shown {
                    return Err(PageError::new(w.c, e));
                }
                return Ok(uploaded_badly(&w, idea));
            }
            continue;
        }
        let value = match field.text().await {
            Ok(v) => v,
            Err(e) => {
                let problem = Refusal::of(&multipart_problem(e), w.c.tr);
                return render_new_idea(&s, w, d, draft, problem, false).await;
            }
        };
        match name.as_str() {
            "csrf" => csrf = value,
            "title" => draft.title = value,
            "body" => draft.body = value,
            "tags" => draft.tags = value,
            _ => {}
        }
    }
    let idea = match created {
        Some(i) => i.summary.id,
        None => {
            if !super::guard::csrf_ok(Some(&w.c.csrf), &csrf) {
                return Ok(stale_form(&HeaderMap::new()));
            }
            match create(&s, &w, d, &draft).await {
                Ok(i) => i.summary.id,
                Err(e) => {
                    return Ok(match Refusal::of(&e, w.c.tr) {
                        Some(p) => render_new_idea(&s, w, d, draft, Some(p), false).await?,
                        None => app_error(w.c, e),
                    });
                }
            }
        }
    };
    Ok(Redirect::to(&format!("/w/{}/ideas/{idea}", w.ws.slug)).into_response())
}

async fn create(
    s: &AppState,
    w: &InWorkspace,
    d: DiscussionId,
    draft: &Draft,
) -> AppResult<IdeaView> {
    let input = IdeaInput {
        title: draft.title.clone(),
        body: draft.body.clone(),
        tags: tags_of(&draft.tags),
    };
    s.app.create_idea(&w.m, d, input).await
}

/// The idea was saved but its file was refused: its page says so.
fn uploaded_badly(w: &InWorkspace, idea: IdeaId) -> Response {
    Redirect::to(&format!(
        "/w/{}/ideas/{idea}?notice=upload-refused",
        w.ws.slug
    ))
    .into_response()
}

// ---- the idea page ---------------------------------------------------------------------------

/// The vote box's data.
pub(crate) struct Votes {
    slug: String,
    idea: IdeaId,
    up: i64,
    down: i64,
    score: i64,
    mine_up: bool,
    mine_down: bool,
    can_vote: bool,
}

/// The ratings' data.
pub(crate) struct Ratings {
    slug: String,
    idea: IdeaId,
    rows: Vec<RatingRow>,
    can_rate: bool,
}

pub(crate) struct RatingRow {
    criterion: CriterionId,
    name: String,
    count: i64,
    average: String,
    mine: u8,
}

struct FileRow {
    id: ideaweave_domain::AttachmentId,
    filename: String,
    size: String,
    /// The reader may remove it: they added it, wrote the idea, or moderate.
    removable: bool,
    /// Images show their preview in the idea's body.
    preview: Option<PreviewView>,
}

impl FileRow {
    /// The `width` and `height` attributes of its preview, when its size is known, so the page
    /// keeps the image's place before it loads.
    fn preview_size(&self) -> String {
        match self.preview {
            Some(PreviewView {
                width: Some(w),
                height: Some(h),
            }) => format!(" width=\"{w}\" height=\"{h}\""),
            _ => String::new(),
        }
    }
}

impl IdeaPage {
    /// True when an image of the idea has a preview to show in its body.
    fn has_pictures(&self) -> bool {
        self.files.iter().any(|f| f.preview.is_some())
    }
}

/// A link on the idea, ready to show.
struct LinkRow {
    id: ideaweave_domain::LinkId,
    url: String,
    /// Its title, or its address when it has none.
    label: String,
    removable: bool,
}

struct MergeRow {
    source: IdeaId,
    title: String,
    at: String,
    undone: bool,
}

#[derive(Template)]
#[template(path = "idea.html")]
struct IdeaPage {
    c: Chrome,
    slug: String,
    idea: IdeaView,
    stage: String,
    posted: Moment,
    votes: Votes,
    ratings: Ratings,
    thread: Thread,
    files: Vec<FileRow>,
    links: Vec<LinkRow>,
    merges: Vec<MergeRow>,
    /// Likely duplicates, for moderators to merge (COL-05).
    duplicates: Vec<SimilarIdea>,
    stages: Vec<StageView>,
    can_edit: bool,
    can_stage: bool,
    notice: Option<&'static str>,
    /// A refused moderation step (merge, unmerge), shown at the top.
    problem: Option<String>,
    /// Why the last file was refused, shown at the file field.
    files_problem: Option<String>,
    /// Why the last link was refused, shown at the link field.
    links_problem: Option<String>,
}
framed!(IdeaPage);

/// What the idea page says went wrong, each shown once, where it happened.
enum IdeaProblem {
    /// A comment was refused: shown in the comment form, which keeps the text.
    Comment(String),
    /// An edit of a comment was refused: shown in that comment's edit form, open, with the text.
    CommentEdit(EditDraft),
    /// A file was refused.
    Files(String),
    /// A link was refused.
    Links(String),
    /// A merge or unmerge was refused.
    Moderation(String),
}

fn votes_of(slug: &str, s: &IdeaSummary, can_vote: bool) -> Votes {
    Votes {
        slug: slug.to_owned(),
        idea: s.id,
        up: s.upvotes,
        down: s.downvotes,
        score: s.score,
        mine_up: s.my_vote == Some(VoteDirection::Up),
        mine_down: s.my_vote == Some(VoteDirection::Down),
        can_vote,
    }
}

fn ratings_of(slug: &str, idea: IdeaId, rows: &[RatingView], can_rate: bool) -> Ratings {
    Ratings {
        slug: slug.to_owned(),
        idea,
        rows: rows
            .iter()
            .map(|r| RatingRow {
                criterion: r.criterion_id,
                name: r.criterion.clone(),
                count: r.count,
                average: r.average.map(|a| format!("{a:.1}")).unwrap_or_default(),
                mine: r.mine.unwrap_or(0),
            })
            .collect(),
        can_rate,
    }
}

/// Notices an idea page shows after a redirect.
fn notice_key(notice: Option<&str>) -> Option<&'static str> {
    match notice {
        Some("upload-refused") => Some("idea.upload_refused"),
        _ => None,
    }
}

/// The file field's message for a [`file_refusal_code`].
fn file_refusal(tr: &crate::ui::i18n::Catalog, code: &str, max_upload: &str) -> Option<String> {
    let key = match code {
        "file-too-large" => "idea.file_too_large",
        "file-type" => "idea.file_type",
        "file-refused" => "idea.file_refused",
        _ => return None,
    };
    Some(tr.get(key).replace("{max}", max_upload))
}

#[derive(Deserialize, Default)]
struct IdeaQuery {
    notice: Option<String>,
    file: Option<String>,
    /// A comment whose edit form to send open.
    edit: Option<String>,
    /// A comment whose delete confirmation to send open.
    delete: Option<String>,
}

async fn render_idea(
    s: &AppState,
    w: InWorkspace,
    id: IdeaId,
    notice: Option<&'static str>,
    problem: Option<IdeaProblem>,
    draft: String,
) -> PageResult {
    render_idea_opening(s, w, id, notice, problem, draft, None).await
}

/// The idea's page with one comment's edit or delete form open (see [`Opened`]).
async fn render_idea_opening(
    s: &AppState,
    w: InWorkspace,
    id: IdeaId,
    notice: Option<&'static str>,
    problem: Option<IdeaProblem>,
    draft: String,
    open: Option<Opened>,
) -> PageResult {
    let (idea, comments) = s
        .app
        .idea_page(&w.m, id, THREAD_COMMENTS)
        .await
        .or_page(&w.c)?;
    let status = if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let (mut comment_problem, mut files_problem, mut links_problem, mut top_problem) =
        (None, None, None, None);
    let mut edit = None;
    match problem {
        Some(IdeaProblem::Comment(p)) => comment_problem = Some(p),
        Some(IdeaProblem::CommentEdit(e)) => edit = Some(e),
        Some(IdeaProblem::Files(p)) => files_problem = Some(p),
        Some(IdeaProblem::Links(p)) => links_problem = Some(p),
        Some(IdeaProblem::Moderation(p)) => top_problem = Some(p),
        None => {}
    }
    let thread = Thread::of(&w, id, comments, draft, comment_problem, edit).opening(open);
    let role = w.m.role();
    let slug = w.ws.slug.clone();
    // The policy's rule for removing a file or link (Action::Detach), to offer the form only to
    // those the use case will let through.
    let me = w.m.actor.user;
    let wrote_idea = idea.summary.author.id == me;
    let may_remove = |added_by: ideaweave_domain::UserId| {
        role >= Role::Moderator || (role >= Role::Member && (added_by == me || wrote_idea))
    };
    // Likely duplicates where a merge can go: this discussion, and only for an idea the merge
    // would take (not merged, not deleted, no other idea merged into it).
    let mergeable = idea.merged_into.is_none()
        && idea.deleted_at.is_none()
        && idea.merges.iter().all(|m| m.unmerged_at.is_some());
    let duplicates = if role >= Role::Moderator && mergeable {
        similar_or_none(
            s,
            &w,
            &idea.summary.title,
            Some(idea.summary.discussion_id),
            Some(id),
        )
        .await
    } else {
        Vec::new()
    };
    Ok(page(
        status,
        &IdeaPage {
            stage: stage_name(&w.ws, idea.summary.stage_id),
            posted: w.c.moment(idea.summary.created_at),
            votes: votes_of(&slug, &idea.summary, role >= Role::Member),
            ratings: ratings_of(&slug, id, &idea.ratings, role >= Role::Member),
            files: idea
                .attachments
                .iter()
                .filter(|a| a.comment_id.is_none())
                .map(|a| FileRow {
                    id: a.id,
                    filename: a.filename.clone(),
                    size: size(a.size_bytes),
                    removable: may_remove(a.uploader_id),
                    preview: a.preview,
                })
                .collect(),
            links: idea
                .links
                .iter()
                .filter(|l| l.comment_id.is_none())
                .map(|l| LinkRow {
                    id: l.id,
                    url: l.url.clone(),
                    label: if l.title.is_empty() {
                        l.url.clone()
                    } else {
                        l.title.clone()
                    },
                    removable: may_remove(l.created_by),
                })
                .collect(),
            merges: idea
                .merges
                .iter()
                .map(|m| MergeRow {
                    source: m.source_id,
                    title: m.source_title.clone(),
                    at: w.c.exact(m.merged_at),
                    undone: m.unmerged_at.is_some(),
                })
                .collect(),
            stages: w
                .ws
                .stages
                .iter()
                .map(|s| StageView {
                    id: s.id,
                    name: s.name.clone(),
                    position: s.position,
                })
                .collect(),
            duplicates,
            can_edit: may_edit(&idea.summary, &w),
            can_stage: role >= Role::Moderator,
            thread,
            notice,
            problem: top_problem,
            files_problem,
            links_problem,
            slug,
            idea,
            c: w.c,
        },
    ))
}

async fn idea_page(
    State(s): State<AppState>,
    w: InWorkspace,
    Id(id): Id<IdeaId>,
    q: Result<Query<IdeaQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let notice = notice_key(q.notice.as_deref());
    let max_upload = size(s.app.settings().max_upload_bytes as i64);
    let refused = q
        .file
        .as_deref()
        .and_then(|code| file_refusal(w.c.tr, code, &max_upload));
    let w = w.at("home");
    match refused {
        // The refusal arrives by redirect: the page itself is fine, so it answers 200.
        Some(p) => {
            let mut response = render_idea(
                &s,
                w,
                id,
                notice,
                Some(IdeaProblem::Files(p)),
                String::new(),
            )
            .await?;
            *response.status_mut() = StatusCode::OK;
            Ok(response)
        }
        None => {
            let comment = |v: &Option<String>| {
                v.as_deref().and_then(|v| {
                    serde_json::from_value::<CommentId>(serde_json::Value::String(v.to_owned()))
                        .ok()
                })
            };
            let open = comment(&q.edit)
                .map(Opened::Edit)
                .or_else(|| comment(&q.delete).map(Opened::Delete));
            render_idea_opening(&s, w, id, notice, None, String::new(), open).await
        }
    }
}

fn back_to_idea(w: &InWorkspace, id: IdeaId, anchor: &str) -> Response {
    Redirect::to(&format!("/w/{}/ideas/{id}#{anchor}", w.ws.slug)).into_response()
}

#[derive(Template)]
#[template(path = "partials/votes_fragment.html")]
struct VotesFragment {
    c: Chrome,
    votes: Votes,
}
framed!(VotesFragment);

async fn vote(
    State(s): State<AppState>,
    Id(id): Id<IdeaId>,
    headers: HeaderMap,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let result = match f.get("direction") {
        Some("up") => {
            s.app
                .vote(
                    &w.m,
                    id,
                    VoteInput {
                        direction: VoteDirection::Up,
                    },
                )
                .await
        }
        Some("down") => {
            s.app
                .vote(
                    &w.m,
                    id,
                    VoteInput {
                        direction: VoteDirection::Down,
                    },
                )
                .await
        }
        Some("none") => s.app.unvote(&w.m, id).await,
        _ => Err(AppError::invalid("direction", "must be up, down or none")),
    };
    let tally = result.or_page(&w.c)?;
    if !from_htmx(&headers) {
        return Ok(back_to_idea(&w, id, "votes"));
    }
    let votes = Votes {
        slug: w.ws.slug.clone(),
        idea: id,
        up: tally.upvotes,
        down: tally.downvotes,
        score: tally.score,
        mine_up: tally.my_vote == Some(VoteDirection::Up),
        mine_down: tally.my_vote == Some(VoteDirection::Down),
        can_vote: true,
    };
    Ok(page(StatusCode::OK, &VotesFragment { c: w.c, votes }))
}

#[derive(Template)]
#[template(path = "partials/ratings_fragment.html")]
struct RatingsFragment {
    c: Chrome,
    ratings: Ratings,
}
framed!(RatingsFragment);

async fn rate(
    State(s): State<AppState>,
    Id(id): Id<IdeaId>,
    headers: HeaderMap,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let Some(criterion) = f.parsed::<CriterionId>("criterion") else {
        return Err(PageError::new(
            w.c,
            AppError::invalid("criterion", "choose a criterion"),
        ));
    };
    let result = match f.get("value") {
        Some("0") => s.app.unrate(&w.m, id, criterion).await.map(|_| ()),
        Some(v) => match v.parse::<i64>() {
            Ok(value) => s
                .app
                .rate(&w.m, id, criterion, RatingInput { value })
                .await
                .map(|_| ()),
            Err(_) => Err(AppError::invalid("value", "must be a number from 1 to 5")),
        },
        None => Err(AppError::invalid("value", "choose a rating from 1 to 5")),
    };
    if let Err(e) = result {
        return Err(PageError::new(w.c, e));
    }
    if !from_htmx(&headers) {
        return Ok(back_to_idea(&w, id, "ratings"));
    }
    Ok(match s.app.idea(&w.m, id).await {
        Ok(idea) => {
            let ratings = ratings_of(&w.ws.slug, id, &idea.ratings, true);
            page(StatusCode::OK, &RatingsFragment { c: w.c, ratings })
        }
        Err(e) => app_error(w.c, e),
    })
}

async fn set_stage(
    State(s): State<AppState>,
    Id(id): Id<IdeaId>,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let Some(stage_id) = f.parsed::<StageId>("stage") else {
        return Err(PageError::new(
            w.c,
            AppError::invalid("stage", "choose a stage"),
        ));
    };
    Ok(
        match s.app.set_stage(&w.m, id, StageInput { stage_id }).await {
            // Moved on the board (by dragging, or by a card's own form): back to the same
            // board, in the same order, filter and column page.
            Ok(idea) if f.get("back") == Some("board") => Redirect::to(&format!(
                "{}#card-{id}",
                BoardView::from_form(&f).link(&w.ws.slug, idea.summary.discussion_id)
            ))
            .into_response(),
            Ok(_) => back_to_idea(&w, id, "stage"),
            Err(e) => app_error(w.c, e),
        },
    )
}

// ---- moderation ------------------------------------------------------------------------------

/// An idea's id from what a moderator pastes: the id itself or the idea's address.
fn idea_ref(text: &str) -> Option<IdeaId> {
    let path = text.trim().split(['?', '#']).next()?;
    let last = path.trim_end_matches('/').rsplit('/').next()?;
    serde_json::from_value(serde_json::Value::String(last.to_owned())).ok()
}

async fn restore_idea(
    State(s): State<AppState>,
    Id(id): Id<IdeaId>,
    WsForm { w, .. }: WsForm,
) -> PageResult {
    s.app.restore_idea(&w.m, id).await.or_page(&w.c)?;
    Ok(back_to_idea(&w, id, "content-body"))
}

/// The idea page again, saying above it why a moderation step (merge, unmerge) was refused.
async fn moderation_refused(s: &AppState, w: InWorkspace, id: IdeaId, e: AppError) -> PageResult {
    let p = form_problem(e, &w.c)?;
    let problem = Some(IdeaProblem::Moderation(p));
    render_idea(s, w, id, None, problem, String::new()).await
}

/// Merges this idea (a duplicate) into the one named in the form.
async fn merge_idea(
    State(s): State<AppState>,
    Id(id): Id<IdeaId>,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let Some(into) = f.get("into").and_then(idea_ref) else {
        let problem = w.c.tr.get("idea.merge_bad_target").to_owned();
        return render_idea(
            &s,
            w,
            id,
            None,
            Some(IdeaProblem::Moderation(problem)),
            String::new(),
        )
        .await;
    };
    Ok(match s.app.merge(&w.m, id, MergeInput { into }).await {
        Ok(_) => back_to_idea(&w, into, "content-body"),
        Err(e) => moderation_refused(&s, w, id, e).await?,
    })
}

async fn unmerge_idea(
    State(s): State<AppState>,
    Id(id): Id<IdeaId>,
    WsForm { w, .. }: WsForm,
) -> PageResult {
    Ok(match s.app.unmerge(&w.m, id).await {
        Ok(_) => back_to_idea(&w, id, "content-body"),
        Err(e) => moderation_refused(&s, w, id, e).await?,
    })
}

// ---- edit and delete -------------------------------------------------------------------------

async fn render_edit(
    s: &AppState,
    w: InWorkspace,
    id: IdeaId,
    draft: Option<Draft>,
    problem: Option<Refusal>,
) -> PageResult {
    let idea = s.app.idea(&w.m, id).await.or_page(&w.c)?;
    if !may_edit(&idea.summary, &w) {
        return Ok(form_not_offered(w, "idea.cannot_edit"));
    }
    let draft = draft.unwrap_or_else(|| Draft {
        title: idea.summary.title.clone(),
        body: idea.body.clone(),
        tags: idea.summary.tags.join(", "),
    });
    let status = if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(page(
        status,
        &IdeaFormPage {
            action: format!("/w/{}/ideas/{id}/edit", w.ws.slug),
            back: format!("/w/{}/ideas/{id}", w.ws.slug),
            heading: w.c.tr.get("idea.edit").to_owned(),
            new: false,
            title: draft.title,
            body: draft.body,
            tags: draft.tags,
            problem,
            file_lost: false,
            max_upload: size(s.app.settings().max_upload_bytes as i64),
            slug: w.ws.slug.clone(),
            similar_url: None,
            similar: Vec::new(),
            c: w.c,
        },
    ))
}

async fn edit_idea_page(
    State(s): State<AppState>,
    w: InWorkspace,
    Id(id): Id<IdeaId>,
) -> PageResult {
    render_edit(&s, w.at("home"), id, None, None).await
}

async fn edit_idea(
    State(s): State<AppState>,
    Id(id): Id<IdeaId>,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let draft = Draft {
        title: f.text("title"),
        body: f.text("body"),
        tags: f.text("tags"),
    };
    let patch = IdeaPatch {
        title: Some(draft.title.clone()),
        body: Some(draft.body.clone()),
        tags: Some(tags_of(&draft.tags)),
    };
    Ok(match s.app.update_idea(&w.m, id, patch).await {
        Ok(_) => back_to_idea(&w, id, "content"),
        Err(e) => {
            let r = form_refusal(e, &w.c)?;
            render_edit(&s, w, id, Some(draft), Some(r)).await?
        }
    })
}

#[derive(Template)]
#[template(path = "confirm.html")]
pub(crate) struct ConfirmPage {
    pub(crate) c: Chrome,
    pub(crate) heading: String,
    pub(crate) text: String,
    pub(crate) action: String,
    pub(crate) back: String,
    pub(crate) button: &'static str,
}
framed!(ConfirmPage);

async fn delete_idea_page(
    State(s): State<AppState>,
    w: InWorkspace,
    Id(id): Id<IdeaId>,
) -> PageResult {
    let idea = s.app.idea(&w.m, id).await.or_page(&w.c)?;
    let tr = w.c.tr;
    Ok(page(
        StatusCode::OK,
        &ConfirmPage {
            heading: tr.get("idea.delete_title").to_owned(),
            text: format!("{} “{}”", tr.get("idea.delete_text"), idea.summary.title),
            action: format!("/w/{}/ideas/{id}/delete", w.ws.slug),
            back: format!("/w/{}/ideas/{id}", w.ws.slug),
            button: "idea.delete",
            c: w.at("home").c,
        },
    ))
}

async fn delete_idea(
    State(s): State<AppState>,
    Id(id): Id<IdeaId>,
    WsForm { w, .. }: WsForm,
) -> PageResult {
    let discussion = match s.app.idea(&w.m, id).await {
        Ok(v) => v.summary.discussion_id,
        Err(e) => return Err(PageError::new(w.c, e)),
    };
    Ok(match s.app.delete_idea(&w.m, id).await {
        Ok(()) => {
            Redirect::to(&format!("/w/{}/discussions/{discussion}", w.ws.slug)).into_response()
        }
        Err(e) => app_error(w.c, e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ideas_are_named_by_id_or_address() {
        let id = "01a20cae-9556-74fe-8074-b42ba86e5935";
        let want = idea_ref(id).expect("an id");
        for text in [
            format!(" {id} "),
            format!("http://127.0.0.1:8080/w/demo/ideas/{id}"),
            format!("/w/demo/ideas/{id}/#comments"),
            format!("https://x.test/w/demo/ideas/{id}?notice=1"),
        ] {
            assert_eq!(idea_ref(&text), Some(want), "{text}");
        }
        assert_eq!(idea_ref("not an idea"), None);
        assert_eq!(idea_ref(""), None);
    }

    #[test]
    fn tags_are_split_on_commas_and_hashes() {
        assert_eq!(tags_of(" a, b ,,c "), vec!["a", "b", "c"]);
        assert_eq!(tags_of("#a #b c"), vec!["#a", "#b c"]);
        assert!(tags_of(" , ").is_empty());
    }
}
