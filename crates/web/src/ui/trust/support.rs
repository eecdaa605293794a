//! The support-access page (SUP-01): a workspace's admins invite the operator's support staff
//! for a scope and a time, see every invitation with its reason, and revoke a live one.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use ideaweave_app::SupportGrantInput;
use ideaweave_domain::SupportScope;

use crate::AppState;
use crate::ui::guard::{Id, InWorkspace, WsForm};
use crate::ui::{Chrome, OrPage, PageResult, Problem, Refusal, app_error, framed, page};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/w/{slug}/support", get(support_page).post(invite))
        .route("/w/{slug}/support/{grant_id}/revoke", post(revoke))
}

struct GrantRow {
    id: ideaweave_domain::SupportGrantId,
    manage: bool,
    reason: String,
    created: String,
    until: String,
    live: bool,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "support.html")]
struct SupportPage {
    c: Chrome,
    slug: String,
    grants: Vec<GrantRow>,
    draft: SupportDraft,
    problem: Problem,
}
framed!(SupportPage);

/// What the invitation form holds after a refusal.
struct SupportDraft {
    manage: bool,
    hours: String,
    reason: String,
}

impl Default for SupportDraft {
    fn default() -> Self {
        Self {
            manage: false,
            hours: "24".into(),
            reason: String::new(),
        }
    }
}

async fn render(s: &AppState, w: InWorkspace, draft: SupportDraft, problem: Problem) -> PageResult {
    let w = w.at("support");
    let grants = s.app.support_grants(&w.m).await.or_page(&w.c)?;
    Ok(page(
        problem.status(),
        &SupportPage {
            slug: w.ws.slug.clone(),
            grants: grants
                .into_iter()
                .map(|g| GrantRow {
                    id: g.id,
                    manage: g.scope == SupportScope::Manage,
                    reason: g.reason.unwrap_or_default(),
                    created: w.c.exact(g.created_at),
                    until: w.c.exact(g.revoked_at.unwrap_or(g.expires_at)),
                    live: g.live,
                    revoked: g.revoked_at.is_some(),
                })
                .collect(),
            draft,
            problem,
            c: w.c,
        },
    ))
}

async fn support_page(State(s): State<AppState>, w: InWorkspace) -> PageResult {
    render(&s, w, SupportDraft::default(), Problem::default()).await
}

async fn invite(State(s): State<AppState>, WsForm { w, f }: WsForm) -> PageResult {
    let draft = SupportDraft {
        manage: f.get("scope") == Some("manage"),
        hours: f.text("hours").trim().to_owned(),
        reason: f.text("reason"),
    };
    let scope = if draft.manage {
        SupportScope::Manage
    } else {
        SupportScope::Read
    };
    let Ok(hours) = draft.hours.parse::<u32>() else {
        let refusal = Refusal::at_field("hours", w.c.tr.get("support.bad_hours").to_owned());
        return render(&s, w, draft, Problem(Some(refusal))).await;
    };
    let input = SupportGrantInput {
        scope,
        hours,
        reason: Some(draft.reason.clone()),
    };
    Ok(match s.app.grant_support(&w.m, input).await {
        Ok(_) => Redirect::to(&format!("/w/{}/support", w.ws.slug)).into_response(),
        // Proving who one is again is a page of its own, not a mistake in the form.
        Err(e @ ideaweave_app::AppError::ReauthenticationRequired) => app_error(w.c, e),
        Err(e) => match Refusal::of(&e, w.c.tr) {
            Some(r) => render(&s, w, draft, Problem(Some(r))).await?,
            None => app_error(w.c, e),
        },
    })
}

async fn revoke(
    State(s): State<AppState>,
    Id(id): Id<ideaweave_domain::SupportGrantId>,
    WsForm { w, .. }: WsForm,
) -> PageResult {
    Ok(match s.app.revoke_support(&w.m, id).await {
        Ok(()) => Redirect::to(&format!("/w/{}/support", w.ws.slug)).into_response(),
        Err(e) => app_error(w.c, e),
    })
}
