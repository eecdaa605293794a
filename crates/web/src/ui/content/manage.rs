//! Running a discussion from the UI: change its details and deadline, close it to new ideas and
//! reopen it (moderators), delete it with its ideas (admins, after a confirmation page).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use ideaweave_app::*;
use ideaweave_domain::{CriterionId, DiscussionId, Role};

use super::ConfirmPage;
use crate::AppState;
use crate::ui::format::{day, end_of_day};
use crate::ui::guard::{Fields, Id, InWorkspace, WsForm};
use crate::ui::i18n::Catalog;
use crate::ui::{
    Chrome, OrPage, PageResult, Problem, Refusal, app_error, form_refusal, framed, page,
};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/w/{slug}/discussions/{discussion_id}/manage",
            get(manage_page).post(save),
        )
        .route(
            "/w/{slug}/discussions/{discussion_id}/state",
            post(open_or_close),
        )
        .route(
            "/w/{slug}/discussions/{discussion_id}/delete",
            get(delete_page).post(delete),
        )
}

/// What a discussion's form holds (`partials/discussion_fields.html`, on the space page for a
/// new discussion and on the management page): the stored discussion, or what was typed.
pub(super) struct Draft {
    pub(super) title: String,
    pub(super) description: String,
    pub(super) kind: DiscussionKind,
    pub(super) deadline: String,
    pub(super) criteria: Vec<CriterionId>,
}

impl Draft {
    /// The form of a new discussion.
    pub(super) fn empty() -> Self {
        Self {
            title: String::new(),
            description: String::new(),
            kind: DiscussionKind::Challenge,
            deadline: String::new(),
            criteria: Vec::new(),
        }
    }

    /// What was typed into the form.
    pub(super) fn typed(f: &Fields) -> Self {
        Self {
            title: f.text("title"),
            description: f.text("description"),
            kind: match f.get("kind") {
                Some("topic") => DiscussionKind::Topic,
                _ => DiscussionKind::Challenge,
            },
            deadline: f.text("deadline").trim().to_owned(),
            criteria: f
                .all("criteria")
                .filter_map(|c| c.parse::<uuid::Uuid>().ok().map(CriterionId))
                .collect(),
        }
    }

    /// The deadline typed, as the end of that day (none when left empty), or the refusal to
    /// show at the field when it is not a date.
    pub(super) fn deadline_ms(&self, tr: &Catalog) -> Result<Option<i64>, Refusal> {
        if self.deadline.is_empty() {
            return Ok(None);
        }
        end_of_day(&self.deadline).map(Some).ok_or_else(|| {
            Refusal::at_field("deadline", tr.get("discussion.bad_deadline").to_owned())
        })
    }

    /// Whether the form has `id` ticked.
    pub(super) fn chosen(&self, id: &CriterionId) -> bool {
        self.criteria.contains(id)
    }

    fn of(d: &DiscussionView) -> Self {
        Self {
            title: d.title.clone(),
            description: d.description.clone(),
            kind: d.kind,
            deadline: d.deadline.map(day).unwrap_or_default(),
            criteria: d.criteria.iter().map(|c| c.id).collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "discussion_manage.html")]
struct ManagePage {
    c: Chrome,
    slug: String,
    d: DiscussionView,
    draft: Draft,
    criteria: Vec<CriterionView>,
    problem: Problem,
    saved: bool,
    may_delete: bool,
}
framed!(ManagePage);

/// The management page, offered to those who may manage the discussion only: others get the
/// refusal page before they type anything.
async fn render(
    s: &AppState,
    w: InWorkspace,
    id: DiscussionId,
    draft: Option<Draft>,
    problem: Option<Refusal>,
    saved: bool,
) -> PageResult {
    let w = w.at("home");
    let d = s.app.discussion(&w.m, id).await.or_page(&w.c)?;
    if w.m.role() < Role::Moderator {
        let why = w.c.tr.get("discussion.cannot_manage").to_owned();
        return Ok(crate::ui::error_page_with(
            w.c,
            StatusCode::FORBIDDEN,
            Some(why),
            None,
        ));
    }
    let problem = Problem(problem);
    let may_delete = w.is_admin();
    Ok(page(
        problem.status(),
        &ManagePage {
            slug: w.ws.slug,
            may_delete,
            criteria: w.ws.criteria,
            draft: draft.unwrap_or_else(|| Draft::of(&d)),
            c: w.c,
            d,
            problem,
            saved,
        },
    ))
}

#[derive(Debug, Default, serde::Deserialize)]
struct ManageQuery {
    saved: Option<String>,
}

async fn manage_page(
    State(s): State<AppState>,
    w: InWorkspace,
    Id(id): Id<DiscussionId>,
    q: Result<axum::extract::Query<ManageQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let saved = q.is_ok_and(|axum::extract::Query(q)| q.saved.is_some());
    render(&s, w, id, None, None, saved).await
}

async fn save(
    State(s): State<AppState>,
    Id(id): Id<DiscussionId>,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let draft = Draft::typed(&f);
    let deadline = match draft.deadline_ms(w.c.tr) {
        Ok(deadline) => deadline,
        Err(refusal) => return render(&s, w, id, Some(draft), Some(refusal), false).await,
    };
    let patch = DiscussionPatch {
        kind: Some(draft.kind),
        title: Some(draft.title.clone()),
        description: Some(draft.description.clone()),
        open: None,
        deadline: Some(deadline),
        // A workspace without criteria has no boxes to tick: leave the list as it is.
        criteria: (!w.ws.criteria.is_empty()).then(|| draft.criteria.clone()),
    };
    Ok(match s.app.update_discussion(&w.m, id, patch).await {
        Ok(_) => Redirect::to(&format!(
            "/w/{}/discussions/{id}/manage?saved=1#details",
            w.ws.slug
        ))
        .into_response(),
        Err(e) => {
            let r = form_refusal(e, &w.c)?;
            render(&s, w, id, Some(draft), Some(r), false).await?
        }
    })
}

/// Closes a discussion to new ideas (`open=0`) or reopens it (`open=1`). Everything posted stays
/// readable, votable and open to comments; only new ideas are refused.
async fn open_or_close(
    State(s): State<AppState>,
    Id(id): Id<DiscussionId>,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let open = match f.get("open") {
        Some("1") => true,
        Some("0") => false,
        _ => {
            return Ok(crate::ui::error_page_with(
                w.c,
                StatusCode::BAD_REQUEST,
                None,
                None,
            ));
        }
    };
    let patch = DiscussionPatch {
        open: Some(open),
        ..Default::default()
    };
    Ok(match s.app.update_discussion(&w.m, id, patch).await {
        Ok(_) => {
            Redirect::to(&format!("/w/{}/discussions/{id}/manage#state", w.ws.slug)).into_response()
        }
        Err(e) => app_error(w.c, e),
    })
}

async fn delete_page(
    State(s): State<AppState>,
    w: InWorkspace,
    Id(id): Id<DiscussionId>,
) -> PageResult {
    let d = s.app.discussion(&w.m, id).await.or_page(&w.c)?;
    if !w.is_admin() {
        let why = w.c.tr.get("discussion.cannot_delete").to_owned();
        return Ok(crate::ui::error_page_with(
            w.c,
            StatusCode::FORBIDDEN,
            Some(why),
            None,
        ));
    }
    let tr = w.c.tr;
    Ok(page(
        StatusCode::OK,
        &ConfirmPage {
            heading: tr.get("discussion.delete_title").to_owned(),
            text: tr
                .get("discussion.delete_confirm")
                .replace("{name}", &tr.quoted(&d.title))
                .replace("{ideas}", &tr.count("count.ideas", d.idea_count)),
            action: format!("/w/{}/discussions/{id}/delete", w.ws.slug),
            back: format!("/w/{}/discussions/{id}/manage", w.ws.slug),
            button: "discussion.delete",
            c: w.at("home").c,
        },
    ))
}

async fn delete(
    State(s): State<AppState>,
    Id(id): Id<DiscussionId>,
    WsForm { w, .. }: WsForm,
) -> PageResult {
    let space = s.app.discussion(&w.m, id).await.or_page(&w.c)?.space_id;
    Ok(match s.app.delete_discussion(&w.m, id).await {
        Ok(()) => {
            Redirect::to(&format!("/w/{}/spaces/{space}?deleted=1", w.ws.slug)).into_response()
        }
        Err(e) => app_error(w.c, e),
    })
}
