//! The request desk pages (DSR-05, DSR-06): record requests that reached the workspace, see
//! what is due, act on a request and answer it. Every action is checked again by the use case.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use ideaweave_app::*;
use ideaweave_domain::{ErasureMode, RequestChannel, RequestId, RequestKind, RequestState, UserId};

use crate::AppState;
use crate::ui::guard::{Id, InWorkspace, WsForm};
use crate::ui::time::ReaderClock;
use crate::ui::{
    Chrome, OrPage, PageError, PageResult, Problem, Refusal, app_error, form_problem, framed, page,
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/w/{slug}/requests", get(desk_page).post(record))
        .route("/w/{slug}/requests/{request_id}", get(request_page))
        .route("/w/{slug}/requests/{request_id}/resolve", post(resolve))
        .route("/w/{slug}/requests/{request_id}/erase", post(erase))
}

/// The translation key of a request kind.
fn kind_key(k: RequestKind) -> &'static str {
    match k {
        RequestKind::Access => "request.access",
        RequestKind::Rectification => "request.rectification",
        RequestKind::Erasure => "request.erasure",
        RequestKind::Restriction => "request.restriction",
        RequestKind::Portability => "request.portability",
        RequestKind::Objection => "request.objection",
        RequestKind::Complaint => "request.complaint",
        RequestKind::Authority => "request.authority",
    }
}

fn channel_key(c: RequestChannel) -> &'static str {
    match c {
        RequestChannel::Email => "channel.email",
        RequestChannel::Letter => "channel.letter",
        RequestChannel::Phone => "channel.phone",
        RequestChannel::InPerson => "channel.in_person",
        RequestChannel::Operator => "channel.operator",
        RequestChannel::Other => "channel.other",
    }
}

fn state_key(s: RequestState) -> &'static str {
    match s {
        RequestState::Open => "requests.state_open",
        RequestState::Done => "requests.state_done",
        RequestState::Refused => "requests.state_refused",
    }
}

/// A date typed in the form, as Unix milliseconds at the start of that calendar day (UTC: the
/// month to answer in is counted on the calendar, see `requests::answer_due`). The reader's
/// today means now, so that a request recorded as it arrives is due a month from this moment,
/// and a reader east or west of UTC records it on their own date.
fn received_at(raw: &str, clock: &ReaderClock) -> Result<i64, AppError> {
    let bad = || AppError::invalid("received_at", "must be a date such as 2026-11-24");
    let raw = raw.trim();
    if raw == clock.today() {
        return Ok(clock.now);
    }
    let mut parts = raw.splitn(3, '-');
    let mut num = |max: i64| -> Result<i64, AppError> {
        parts
            .next()
            .and_then(|p| p.parse::<i64>().ok())
            .filter(|v| (1..=max).contains(v))
            .ok_or_else(bad)
    };
    let (y, m, d) = (num(9999)?, num(12)?, num(31)?);
    let days = ideaweave_domain::requests::civil_days(y, m, d);
    if ideaweave_domain::requests::civil_date(days) != (y, m, d) {
        return Err(bad());
    }
    Ok(days * ideaweave_domain::retention::DAY_MS)
}

struct Row {
    id: RequestId,
    kind_key: &'static str,
    requester: String,
    received: String,
    due: String,
    overdue: bool,
    state_key: &'static str,
    forwarded: bool,
}

#[derive(Template)]
#[template(path = "requests.html")]
struct DeskPage {
    c: Chrome,
    slug: String,
    rows: Vec<Row>,
    /// The filter links with how many requests each shows, and the one in use.
    views: Vec<DeskView>,
    shown: &'static str,
    kinds: Vec<(&'static str, &'static str)>,
    channels: Vec<(&'static str, &'static str)>,
    members: Vec<(UserId, String)>,
    today: String,
    draft_requester: String,
    draft_details: String,
    problem: Problem,
}
framed!(DeskPage);

/// Which requests the desk lists: all, those still open, those past their due date, or those
/// answered (done or refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum DeskFilter {
    #[default]
    All,
    Open,
    Overdue,
    Answered,
}

impl DeskFilter {
    const ALL: [DeskFilter; 4] = [Self::All, Self::Open, Self::Overdue, Self::Answered];

    fn parse(s: Option<&str>) -> Self {
        Self::ALL
            .into_iter()
            .find(|f| Some(f.as_str()) == s)
            .unwrap_or_default()
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Open => "open",
            Self::Overdue => "overdue",
            Self::Answered => "answered",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::All => "requests.show_all",
            Self::Open => "requests.show_open",
            Self::Overdue => "requests.show_overdue",
            Self::Answered => "requests.show_answered",
        }
    }

    fn admits(self, r: &RequestView) -> bool {
        match self {
            Self::All => true,
            Self::Open => r.state == RequestState::Open,
            Self::Overdue => r.overdue,
            Self::Answered => r.state != RequestState::Open,
        }
    }
}

/// One filter link of the desk.
struct DeskView {
    value: &'static str,
    label: &'static str,
    count: usize,
}

#[derive(Debug, Default, serde::Deserialize)]
struct DeskQuery {
    show: Option<String>,
}

async fn render_desk(
    s: &AppState,
    w: InWorkspace,
    draft: (String, String),
    problem: Problem,
    filter: DeskFilter,
) -> PageResult {
    let w = w.at("requests");
    let requests = s.app.requests(&w.m).await.or_page(&w.c)?;
    let views = DeskFilter::ALL
        .into_iter()
        .map(|f| DeskView {
            value: f.as_str(),
            label: f.label(),
            count: requests.iter().filter(|r| f.admits(r)).count(),
        })
        .collect();
    let requests: Vec<RequestView> = requests.into_iter().filter(|r| filter.admits(r)).collect();
    // Every member, by name: a request may be about anyone in the workspace.
    let members = s
        .app
        .member_directory(&w.m, MemberDirectoryQuery::everyone())
        .await
        .or_page(&w.c)?
        .items
        .into_iter()
        .map(|m| (m.user_id, m.name))
        .collect();
    Ok(page(
        problem.status(),
        &DeskPage {
            slug: w.ws.slug.clone(),
            views,
            shown: filter.as_str(),
            rows: requests
                .into_iter()
                .map(|r| Row {
                    id: r.id,
                    kind_key: kind_key(r.kind),
                    requester: r.requester,
                    received: w.c.exact(r.received_at),
                    due: w.c.clock.date(w.c.tr, r.due_at),
                    overdue: r.overdue,
                    state_key: state_key(r.state),
                    forwarded: r.forwarded_by_operator,
                })
                .collect(),
            kinds: RequestKind::ALL
                .iter()
                .map(|k| (k.as_str(), kind_key(*k)))
                .collect(),
            channels: RequestChannel::ALL
                .iter()
                .filter(|c| **c != RequestChannel::Operator)
                .map(|c| (c.as_str(), channel_key(*c)))
                .collect(),
            members,
            today: w.c.clock.today(),
            draft_requester: draft.0,
            draft_details: draft.1,
            problem,
            c: w.c,
        },
    ))
}

async fn desk_page(
    State(s): State<AppState>,
    w: InWorkspace,
    q: Result<axum::extract::Query<DeskQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let filter = q
        .map(|axum::extract::Query(q)| DeskFilter::parse(q.show.as_deref()))
        .unwrap_or_default();
    render_desk(
        &s,
        w,
        (String::new(), String::new()),
        Problem::default(),
        filter,
    )
    .await
}

async fn record(State(s): State<AppState>, WsForm { w, f }: WsForm) -> PageResult {
    let draft = (f.text("requester"), f.text("details"));
    let input = (|| {
        Ok::<_, AppError>(RequestInput {
            kind: f
                .parsed::<RequestKind>("kind")
                .ok_or_else(|| AppError::invalid("kind", "choose what the request asks for"))?,
            channel: f
                .parsed::<RequestChannel>("channel")
                .ok_or_else(|| AppError::invalid("channel", "choose how it arrived"))?,
            requester: draft.0.clone(),
            subject_id: match f.get("subject_id").filter(|v| !v.is_empty()) {
                None => None,
                Some(v) => Some(UserId(v.parse().map_err(|_| {
                    AppError::invalid("subject_id", "choose a member or nobody")
                })?)),
            },
            details: draft.1.clone(),
            received_at: Some(received_at(f.get("received").unwrap_or(""), &w.c.clock)?),
        })
    })();
    let r = match input {
        Ok(i) => s.app.record_request(&w.m, i).await,
        Err(e) => Err(e),
    };
    Ok(match r {
        Ok(v) => Redirect::to(&format!("/w/{}/requests/{}", w.ws.slug, v.id)).into_response(),
        Err(e) => match Refusal::of(&e, w.c.tr) {
            Some(r) => render_desk(&s, w, draft, Problem(Some(r)), DeskFilter::All).await?,
            None => return Err(PageError::new(w.c, e)),
        },
    })
}

#[derive(Template)]
#[template(path = "request.html")]
struct RequestPage {
    c: Chrome,
    slug: String,
    r: RequestView,
    kind_key: &'static str,
    channel_key: &'static str,
    state_key: &'static str,
    subject: String,
    received: String,
    due: String,
    open: bool,
    can_erase: bool,
    can_gather: bool,
    notices: bool,
    note: Option<String>,
    problem: Option<String>,
}
framed!(RequestPage);

async fn render_request(
    s: &AppState,
    w: InWorkspace,
    id: RequestId,
    note: Option<String>,
    problem: Option<String>,
) -> PageResult {
    let w = w.at("requests");
    let r = s.app.request(&w.m, id).await.or_page(&w.c)?;
    let subject = match r.subject_id {
        None => w.c.tr.get("requests.no_subject").to_owned(),
        Some(u) => match s
            .app
            .members(
                &w.m,
                PageQuery {
                    cursor: None,
                    limit: Some(100),
                },
            )
            .await
        {
            Ok(p) => p
                .items
                .into_iter()
                .find(|m| m.user_id == u)
                .map(|m| m.name)
                .unwrap_or_else(|| w.c.tr.get("requests.former").to_owned()),
            Err(e) => return Err(PageError::new(w.c, e)),
        },
    };
    let open = r.state == RequestState::Open;
    let status = if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(page(
        status,
        &RequestPage {
            slug: w.ws.slug.clone(),
            kind_key: kind_key(r.kind),
            channel_key: channel_key(r.channel),
            state_key: state_key(r.state),
            subject,
            received: w.c.exact(r.received_at),
            due: w.c.clock.date(w.c.tr, r.due_at),
            open,
            can_erase: r.kind == RequestKind::Erasure && r.subject_id.is_some(),
            can_gather: matches!(r.kind, RequestKind::Access | RequestKind::Portability)
                && r.subject_id.is_some(),
            notices: r.kind.needs_recipient_notices(),
            r,
            note,
            problem,
            c: w.c,
        },
    ))
}

async fn request_page(
    State(s): State<AppState>,
    Id(id): Id<RequestId>,
    w: InWorkspace,
) -> PageResult {
    render_request(&s, w, id, None, None).await
}

async fn resolve(
    State(s): State<AppState>,
    Id(id): Id<RequestId>,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let input = match f.parsed::<RequestState>("state") {
        Some(state) => Ok(ResolveInput {
            state,
            resolution: f.text("resolution"),
            notify: f
                .text("notify")
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
        }),
        None => Err(AppError::invalid("state", "choose done or refused")),
    };
    let r = match input {
        Ok(i) => s.app.resolve_request(&w.m, id, i).await,
        Err(e) => Err(e),
    };
    Ok(match r {
        Ok(_) => Redirect::to(&format!("/w/{}/requests/{id}", w.ws.slug)).into_response(),
        Err(e) => {
            let p = form_problem(e, &w.c)?;
            render_request(&s, w, id, None, Some(p)).await?
        }
    })
}

async fn erase(
    State(s): State<AppState>,
    Id(id): Id<RequestId>,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let Some(mode) = f.parsed::<ErasureMode>("mode") else {
        return Err(PageError::new(
            w.c,
            AppError::invalid("mode", "choose anonymise or purge"),
        ));
    };
    Ok(
        match s
            .app
            .erase_for_request(&w.m, id, ErasureInput { mode })
            .await
        {
            Ok(report) => {
                let note = format!(
                    "{} ({}): {} / {} / {}",
                    w.c.tr.get("requests.erased"),
                    report.mode,
                    report.ideas,
                    report.comments,
                    report.files
                );
                render_request(&s, w, id, Some(note), None).await?
            }
            Err(e) => app_error(w.c, e),
        },
    )
}
