//! Personal settings: one's display name, workspaces and where to manage tokens.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use ideaweave_app::{AccountDeletionInput, AccountPatch, AppError, MeView, NotificationPreference};
use ideaweave_domain::ErasureMode;
use serde::Deserialize;

use crate::AppState;
use crate::ui::guard::{Fields, Visitor, WsForm, stale_form};
use crate::ui::identity::session::role_key;
use crate::ui::{
    Chrome, OrPage, PageError, PageResult, Problem, Refusal, app_error, form_refusal, framed, page,
};

struct Membership {
    slug: String,
    name: String,
    role_key: &'static str,
    /// The email notification preference in this workspace.
    notify: &'static str,
}

/// What deleting the account does in one workspace (DSR-03).
struct DeletionRow {
    name: String,
    /// True when the person left but their contributions remain.
    former: bool,
    mode_key: &'static str,
    ideas: u64,
    comments: u64,
    votes_and_ratings: u64,
    files: u64,
}

/// The choices of the notification select, in order.
const NOTIFY_CHOICES: [(&str, &str); 3] = [
    ("instant", "notify.instant"),
    ("daily", "notify.daily"),
    ("off", "notify.off"),
];

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    c: Chrome,
    name: String,
    email: String,
    memberships: Vec<Membership>,
    choices: [(&'static str, &'static str); 3],
    mail_enabled: bool,
    /// Since when the person restricted the processing of their data, if they did.
    restricted_since: Option<String>,
    deletion: Vec<DeletionRow>,
    /// Why the account cannot be deleted now, if it cannot.
    deletion_blocked: Option<String>,
    /// What was wrong with the last deletion attempt.
    deletion_problem: Problem,
    /// Where a confirmation link was just sent, or what was wrong with the new address.
    email_sent_to: Option<String>,
    email_problem: Problem,
    /// What was just saved, as the key of the message that says so.
    saved: Option<&'static str>,
    /// The zone the person chose ("" for their browser's), every zone to choose from, and the
    /// time now as their pages show it.
    zone: String,
    zones: Vec<String>,
    zone_now: String,
    /// What was wrong with the display name sent.
    problem: Problem,
}
framed!(AccountPage);

#[derive(Deserialize, Default)]
pub(crate) struct AccountQuery {
    saved: Option<String>,
}

pub(crate) async fn account_page(
    State(s): State<AppState>,
    v: Visitor,
    q: Result<Query<AccountQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let saved = match q.ok().and_then(|Query(q)| q.saved).as_deref() {
        None => None,
        Some("zone") => Some("account.saved_zone"),
        Some(_) => Some("account.saved"),
    };
    render(&s, v, saved, None, Shown::None).await
}

/// What went wrong with the last form sent, and which form it was.
enum Shown {
    None,
    Profile(Refusal),
    Deletion(Refusal),
    Email(Refusal),
    /// Not a problem: the link went out.
    EmailSent(String),
}

async fn render(
    s: &AppState,
    v: Visitor,
    saved: Option<&'static str>,
    draft: Option<String>,
    problem: Shown,
) -> PageResult {
    let MeView { user, workspaces } = s.app.me(&v.p).await.or_page(&v.c)?;
    let mut memberships = Vec::with_capacity(workspaces.len());
    for w in workspaces {
        let preference = match s.app.enter(&v.p, &w.slug).await {
            Ok(m) => s.app.notification_preference(&m).await,
            Err(e) => Err(e),
        };
        let notify = match preference {
            Ok(p) => p.as_str(),
            Err(e) => return Err(PageError::new(v.c, e)),
        };
        memberships.push(Membership {
            slug: w.slug,
            name: w.name,
            role_key: role_key(w.role),
            notify,
        });
    }
    let restricted_since = match s.app.restriction(&v.p).await {
        Ok(r) => r.since.map(|ms| v.c.exact(ms)),
        Err(e) => return Err(PageError::new(v.c, e)),
    };
    let statement = s.app.deletion_statement(&v.p).await.or_page(&v.c)?;
    let deletion = statement
        .workspaces
        .into_iter()
        .map(|d| DeletionRow {
            name: d.name,
            former: d.role.is_none(),
            mode_key: match d.mode {
                ErasureMode::Anonymise => "account.delete_keep",
                ErasureMode::Purge => "account.delete_purge",
            },
            ideas: d.ideas,
            comments: d.comments,
            votes_and_ratings: d.votes_and_ratings,
            files: d.files,
        })
        .collect();
    // Each form's refusal: at its field when about it, above the form otherwise (a sign-in
    // too old to delete the account, an instance without mail).
    let (mut email_sent_to, mut email_problem) = (None, None);
    let (mut problem_in_name, mut deletion_problem) = (None, None);
    let status = match problem {
        Shown::None => StatusCode::OK,
        Shown::Profile(r) => {
            problem_in_name = Some(r);
            StatusCode::BAD_REQUEST
        }
        Shown::Deletion(r) => {
            deletion_problem = Some(r);
            StatusCode::BAD_REQUEST
        }
        Shown::Email(r) => {
            email_problem = Some(r);
            StatusCode::BAD_REQUEST
        }
        Shown::EmailSent(to) => {
            email_sent_to = Some(to);
            StatusCode::OK
        }
    };
    Ok(page(
        status,
        &AccountPage {
            restricted_since,
            deletion,
            // The use case says why in English, as the API does; the page in the reader's.
            deletion_blocked: statement
                .blocked_by
                .map(|why| sentence(&v.c.tr.problem(&why))),
            deletion_problem: Problem(deletion_problem),
            email_sent_to,
            email_problem: Problem(email_problem),
            zone: v
                .p
                .session
                .as_ref()
                .and_then(|s| s.time_zone.clone())
                .unwrap_or_default(),
            zones: crate::ui::time::zone_names(),
            zone_now: v.c.exact(v.c.clock.now),
            c: v.c,
            saved,
            problem: Problem(problem_in_name),
            name: draft.unwrap_or(user.name),
            email: user.email,
            memberships,
            choices: NOTIFY_CHOICES,
            mail_enabled: s.app.settings().mail_enabled,
        },
    ))
}

/// Saves the display name.
pub(crate) async fn update_account(
    State(s): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    f: Fields,
) -> PageResult {
    if !f.csrf_ok(&v.c) {
        return Ok(stale_form(&headers));
    }
    let name = f.text("name");
    Ok(
        match s
            .app
            .rename_account(&v.p, AccountPatch { name: name.clone() })
            .await
        {
            Ok(_) => Redirect::to("/account?saved=1").into_response(),
            Err(e) => {
                let r = form_refusal(e, &v.c)?;
                render(&s, v, None, Some(name), Shown::Profile(r)).await?
            }
        },
    )
}

/// Saves the time zone one reads times in ("" follows the browser).
pub(crate) async fn update_time_zone(
    State(s): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    f: Fields,
) -> PageResult {
    if !f.csrf_ok(&v.c) {
        return Ok(stale_form(&headers));
    }
    let input = ideaweave_app::TimeZoneInput {
        time_zone: f.get("time_zone").map(str::to_owned),
    };
    s.app.set_time_zone(&v.p, input).await.or_page(&v.c)?;
    Ok(Redirect::to("/account?saved=zone#time-zone").into_response())
}

/// Saves how one hears of replies and stage changes in one workspace (COL-04).
pub(crate) async fn update_notifications(
    State(s): State<AppState>,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let preference = match f
        .get("preference")
        .map(str::parse::<NotificationPreference>)
    {
        Some(Ok(p)) => p,
        _ => {
            let e = AppError::invalid("preference", "must be instant, daily or off");
            return Err(PageError::new(w.c, e));
        }
    };
    Ok(
        match s.app.set_notification_preference(&w.m, preference).await {
            Ok(()) => Redirect::to("/account?saved=1").into_response(),
            Err(e) => app_error(w.c, e),
        },
    )
}

/// Restricts the processing of one's data, or lifts the restriction (DSR-04).
pub(crate) async fn update_restriction(
    State(s): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    f: Fields,
) -> PageResult {
    if !f.csrf_ok(&v.c) {
        return Ok(stale_form(&headers));
    }
    let restricted = match f.get("restricted") {
        Some("true") => true,
        Some("false") => false,
        _ => {
            let e = AppError::invalid("restricted", "must be true or false");
            return Err(PageError::new(v.c, e));
        }
    };
    s.app
        .set_restriction(&v.p, restricted)
        .await
        .or_page(&v.c)?;
    Ok(Redirect::to("/account?saved=1#restriction").into_response())
}

/// Deletes one's account (DSR-03) once the address is typed again; signs the browser out.
pub(crate) async fn delete_account(
    State(s): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    f: Fields,
) -> PageResult {
    if !f.csrf_ok(&v.c) {
        return Ok(stale_form(&headers));
    }
    let input = AccountDeletionInput {
        confirm: f.text("confirm"),
    };
    Ok(match s.app.delete_account(&v.p, input).await {
        Ok(()) => match crate::api::identity::session::session_cookie_header(&s, "", 0) {
            Ok(clear) => (
                StatusCode::SEE_OTHER,
                [
                    (axum::http::header::SET_COOKIE, clear),
                    (
                        axum::http::header::LOCATION,
                        axum::http::HeaderValue::from_static("/sign-in?deleted=1"),
                    ),
                ],
            )
                .into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
        Err(e) => {
            let r = form_refusal(e, &v.c)?;
            render(&s, v, None, None, Shown::Deletion(r)).await?
        }
    })
}

/// Starts changing one's address: a confirmation link goes to the new one (DSR-02).
pub(crate) async fn change_email(
    State(s): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    f: Fields,
) -> PageResult {
    if !f.csrf_ok(&v.c) {
        return Ok(stale_form(&headers));
    }
    let input = ideaweave_app::EmailChangeInput {
        email: f.text("email"),
    };
    Ok(match s.app.request_email_change(&v.p, input).await {
        Ok(info) => render(&s, v, None, None, Shown::EmailSent(info.email)).await?,
        Err(e) => {
            let r = form_refusal(e, &v.c)?;
            render(&s, v, None, None, Shown::Email(r)).await?
        }
    })
}

/// `text` as a sentence: its first letter capitalised (messages of the use cases begin in lower
/// case, to follow a field's name).
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
