//! Administration pages: members and invitations, workspace settings (name, stages, rating
//! criteria, spaces and their members) and one's API tokens. Every action
//! is checked again by the use case; the pages only leave out what one may not do.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ideaweave_app::*;
use ideaweave_domain::{
    CriterionId, InvitationId, Role, SpaceId, StageId, TokenId, TokenScope, UserId,
};
use serde::Deserialize;

use crate::AppState;
use crate::ui::format::day;
use crate::ui::guard::{Fields, Id, InWorkspace, WsForm};
use crate::ui::identity::session::role_key;
use crate::ui::{Chrome, OrPage, PageError, PageResult, Problem, Refusal, app_error, framed, page};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/w/{slug}/members", get(members_page))
        .route("/w/{slug}/members/invite", post(invite))
        .route("/w/{slug}/members/{user_id}/role", post(change_role))
        .route("/w/{slug}/members/{user_id}/remove", post(remove_member))
        .route("/w/{slug}/members/{user_id}/erase", post(erase_member))
        .route(
            "/w/{slug}/invitations/{invitation_id}/revoke",
            post(revoke_invitation),
        )
        .route("/w/{slug}/settings", get(settings_page))
        .route("/w/{slug}/settings/name", post(rename))
        .route("/w/{slug}/settings/retention", post(set_retention))
        .route("/w/{slug}/settings/erasure", post(set_erasure_policy))
        .route("/w/{slug}/settings/search", post(set_search_language))
        .route("/w/{slug}/settings/export", post(start_export))
        .route("/w/{slug}/settings/termination", post(request_termination))
        .route(
            "/w/{slug}/settings/termination/cancel",
            post(cancel_termination),
        )
        .route("/w/{slug}/settings/exports", get(exports_fragment))
        .route("/w/{slug}/settings/stages", post(create_stage))
        .route("/w/{slug}/settings/stages/{stage_id}", post(update_stage))
        .route(
            "/w/{slug}/settings/stages/{stage_id}/delete",
            post(delete_stage),
        )
        .route("/w/{slug}/settings/criteria", post(create_criterion))
        .route(
            "/w/{slug}/settings/criteria/{criterion_id}",
            post(update_criterion),
        )
        .route(
            "/w/{slug}/settings/criteria/{criterion_id}/delete",
            post(delete_criterion),
        )
        .route("/w/{slug}/settings/spaces", post(create_space))
        .route("/w/{slug}/settings/spaces/{space_id}", post(update_space))
        .route(
            "/w/{slug}/settings/spaces/{space_id}/delete",
            get(delete_space_page).post(delete_space),
        )
        .route(
            "/w/{slug}/settings/spaces/{space_id}/members",
            post(space_members),
        )
        .route("/w/{slug}/tokens", get(tokens_page).post(create_token))
        .route("/w/{slug}/tokens/{token_id}/revoke", post(revoke_token))
}

/// A role choice in a select, marked when it is the current one.
struct RoleChoice {
    value: &'static str,
    key: &'static str,
    selected: bool,
}

/// The roles `actor` may hand out, `current` selected.
fn role_choices(actor: Role, current: Role) -> Vec<RoleChoice> {
    [
        Role::Guest,
        Role::Member,
        Role::Moderator,
        Role::Admin,
        Role::Owner,
    ]
    .into_iter()
    .filter(|r| *r <= actor)
    .map(|r| RoleChoice {
        value: r.as_str(),
        key: role_key(r),
        selected: r == current,
    })
    .collect()
}

// ---- members ---------------------------------------------------------------------------------

struct MemberRow {
    user: UserId,
    name: String,
    email: String,
    role_key: &'static str,
    joined: String,
    /// The day last active, for admins; `None` when never recorded.
    active: Option<String>,
    is_me: bool,
    /// The member's role may be changed (and they removed) by the visitor.
    manageable: bool,
    roles: Vec<RoleChoice>,
}

struct InvitationRow {
    id: InvitationId,
    email: String,
    /// The role's value, for the resend form.
    role: &'static str,
    role_key: &'static str,
    expires: String,
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    c: Chrome,
    slug: String,
    members: Vec<MemberRow>,
    /// "1–50 of 1,204", when anyone matched.
    range: Option<String>,
    previous: Option<String>,
    next: Option<String>,
    search: String,
    sort: &'static str,
    invitations: Vec<InvitationRow>,
    is_admin: bool,
    invite_roles: Vec<RoleChoice>,
    invite_email: String,
    sent_to: Option<String>,
    accept_url: Option<String>,
    /// Why the last invitation was refused, said at the invitation form.
    problem: Option<Refusal>,
}
framed!(MembersPage);

impl MembersPage {
    /// The refusal of the last invitation, for the top of its form.
    fn invite_problem(&self) -> Option<&str> {
        self.problem.as_ref().and_then(|p| p.above(&[]))
    }

    /// Whether the invitation form's `field` is the one refused.
    fn invite_invalid(&self, field: &str) -> bool {
        self.problem.as_ref().is_some_and(|p| p.at(field).is_some())
    }
}

#[derive(Deserialize, Default)]
struct DirectoryQuery {
    q: Option<String>,
    sort: Option<String>,
    from: Option<usize>,
}

/// How many members the members page lists at once.
const MEMBERS_PER_PAGE: usize = 50;

/// The members page's search, order and place in the list.
#[derive(Debug, Clone, Default)]
struct Directory {
    search: String,
    sort: MemberSort,
    from: usize,
}

impl Directory {
    fn of(q: DirectoryQuery) -> Self {
        Self {
            search: q.q.unwrap_or_default().chars().take(200).collect(),
            sort: match q.sort.as_deref() {
                Some("role") => MemberSort::Role,
                Some("joined") => MemberSort::Joined,
                Some("active") => MemberSort::Active,
                _ => MemberSort::Name,
            },
            from: q.from.unwrap_or(0),
        }
    }

    fn sort_name(&self) -> &'static str {
        match self.sort {
            MemberSort::Name => "name",
            MemberSort::Role => "role",
            MemberSort::Joined => "joined",
            MemberSort::Active => "active",
        }
    }

    /// The members page at `from` with this search and order.
    fn link(&self, slug: &str, from: usize) -> String {
        let mut url = format!("/w/{slug}/members?sort={}", self.sort_name());
        if !self.search.is_empty() {
            url.push_str("&q=");
            url.push_str(&crate::ui::format::url_encode(&self.search));
        }
        if from > 0 {
            url.push_str(&format!("&from={from}"));
        }
        url
    }
}

/// What the members page shows after an action.
#[derive(Default)]
struct MembersOutcome {
    invite_email: String,
    sent_to: Option<String>,
    accept_url: Option<String>,
    problem: Option<Refusal>,
}

async fn render_members(
    s: &AppState,
    w: InWorkspace,
    dir: Directory,
    out: MembersOutcome,
) -> PageResult {
    let w = w.at("members");
    let is_admin = w.is_admin();
    let role = w.m.role();
    let me = w.m.actor.user;
    let query = MemberDirectoryQuery {
        search: dir.search.clone(),
        sort: dir.sort,
        offset: dir.from,
        limit: MEMBERS_PER_PAGE,
    };
    let list = s.app.member_directory(&w.m, query).await.or_page(&w.c)?;
    // Support (SUP-01) sees members but not who is invited (never support's business).
    let invitations = if is_admin && w.m.support.is_none() {
        match s.app.invitations(&w.m).await {
            Ok(v) => v
                .into_iter()
                .map(|i| InvitationRow {
                    id: i.id,
                    email: i.email,
                    role: i.role.as_str(),
                    role_key: role_key(i.role),
                    expires: w.c.exact(i.expires_at),
                })
                .collect(),
            Err(e) => return Err(PageError::new(w.c, e)),
        }
    } else {
        Vec::new()
    };
    let slug = w.ws.slug.clone();
    let shown = list.items.len();
    let members = list
        .items
        .into_iter()
        .map(|mv| MemberRow {
            manageable: is_admin && mv.role <= role && mv.user_id != me,
            roles: role_choices(role, mv.role),
            is_me: mv.user_id == me,
            user: mv.user_id,
            name: mv.name,
            email: mv.email.unwrap_or_default(),
            role_key: role_key(mv.role),
            joined: w.c.clock.date(w.c.tr, mv.joined_at),
            active: mv.last_active_on.map(day),
        })
        .collect();
    let tr = w.c.tr;
    let total = i64::try_from(list.total).unwrap_or(i64::MAX);
    let first = i64::try_from(dir.from).unwrap_or(i64::MAX);
    let range = (shown > 0).then(|| {
        format!(
            "{}–{} {} {}",
            tr.number(first.saturating_add(1)),
            tr.number(first.saturating_add(shown as i64)),
            tr.get("paging.of"),
            tr.number(total)
        )
    });
    // Past the end (a stale link): "previous" leads back to the last page there is.
    let previous = (dir.from > 0).then(|| {
        let back = dir.from.min(list.total).saturating_sub(1);
        dir.link(&slug, back - back % MEMBERS_PER_PAGE)
    });
    let next = (dir.from.saturating_add(shown) < list.total)
        .then(|| dir.link(&slug, dir.from.saturating_add(MEMBERS_PER_PAGE)));
    let status = if out.problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(page(
        status,
        &MembersPage {
            next,
            previous,
            range,
            search: dir.search.clone(),
            sort: dir.sort_name(),
            slug,
            members,
            invitations,
            is_admin,
            invite_roles: role_choices(role, Role::Member),
            invite_email: out.invite_email,
            sent_to: out.sent_to,
            accept_url: out.accept_url,
            problem: out.problem,
            c: w.c,
        },
    ))
}

async fn members_page(
    State(s): State<AppState>,
    w: InWorkspace,
    q: Result<Query<DirectoryQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let dir = q.map(|Query(q)| Directory::of(q)).unwrap_or_default();
    render_members(&s, w, dir, MembersOutcome::default()).await
}

async fn invite(State(s): State<AppState>, WsForm { w, f }: WsForm) -> PageResult {
    let email = f.text("email");
    let Some(role) = f.parsed::<Role>("role") else {
        let out = MembersOutcome {
            invite_email: email,
            problem: Some(Refusal::general(
                w.c.tr.get("members.choose_role").to_owned(),
            )),
            ..Default::default()
        };
        return render_members(&s, w, Directory::default(), out).await;
    };
    Ok(
        match s
            .app
            .invite(
                &w.m,
                InvitationInput {
                    email: email.clone(),
                    role,
                },
            )
            .await
        {
            Ok(created) => {
                let out = MembersOutcome {
                    sent_to: Some(created.invitation.email),
                    // Without mail delivery the admin passes the link on by hand.
                    accept_url: created.accept_url,
                    ..Default::default()
                };
                render_members(&s, w, Directory::default(), out).await?
            }
            Err(e) => match Refusal::of(&e, w.c.tr) {
                Some(p) => {
                    let out = MembersOutcome {
                        invite_email: email,
                        problem: Some(p),
                        ..Default::default()
                    };
                    render_members(&s, w, Directory::default(), out).await?
                }
                None => app_error(w.c, e),
            },
        },
    )
}

fn to_members(w: &InWorkspace) -> Response {
    Redirect::to(&format!("/w/{}/members", w.ws.slug)).into_response()
}

async fn change_role(
    State(s): State<AppState>,
    Id(user): Id<UserId>,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let Some(role) = f.parsed::<Role>("role") else {
        return Err(PageError::new(
            w.c,
            AppError::invalid("role", "choose a role"),
        ));
    };
    Ok(
        match s.app.change_role(&w.m, user, RoleInput { role }).await {
            Ok(_) => to_members(&w),
            Err(e) => app_error(w.c, e),
        },
    )
}

async fn remove_member(
    State(s): State<AppState>,
    Id(user): Id<UserId>,
    WsForm { w, .. }: WsForm,
) -> PageResult {
    let leaving = user == w.m.actor.user;
    Ok(match s.app.remove_member(&w.m, user).await {
        Ok(()) if leaving => Redirect::to("/").into_response(),
        Ok(()) => to_members(&w),
        Err(e) => app_error(w.c, e),
    })
}

/// Erases a member (DSR-03) in the mode the admin chose in the confirmation.
async fn erase_member(
    State(s): State<AppState>,
    Id(user): Id<UserId>,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let r = match erasure_mode(&f) {
        Ok(mode) => s.app.erase_person(&w.m, user, ErasureInput { mode }).await,
        Err(e) => Err(e),
    };
    r.or_page(&w.c)?;
    Ok(to_members(&w))
}

async fn revoke_invitation(
    State(s): State<AppState>,
    Id(id): Id<InvitationId>,
    WsForm { w, .. }: WsForm,
) -> PageResult {
    Ok(match s.app.revoke_invitation(&w.m, id).await {
        Ok(()) => to_members(&w),
        Err(e) => app_error(w.c, e),
    })
}

// ---- settings --------------------------------------------------------------------------------

struct SpaceRow {
    space: SpaceView,
    members: Vec<MemberView>,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    c: Chrome,
    slug: String,
    name: String,
    stages: Vec<StageView>,
    criteria: Vec<CriterionView>,
    spaces: Vec<SpaceRow>,
    everyone: Vec<MemberView>,
    retention: ideaweave_domain::RetentionPolicy,
    /// The erasure policy for deleted accounts, as its API name.
    erasure_mode: &'static str,
    erasure_choices: [(&'static str, &'static str); 2],
    /// The search language, as its API name (COL-05).
    search_language: &'static str,
    search_languages: [(&'static str, &'static str); 2],
    exports: Vec<ExportRow>,
    /// An export is being prepared: the section polls for its progress.
    exporting: bool,
    /// Owners may ask for the workspace's deletion (LIF-02).
    is_owner: bool,
    deletion_due: Option<String>,
    grace_days: u32,
    /// What was refused, and in which section of the page (its anchor).
    problem: Option<(String, Refusal)>,
}
framed!(SettingsPage);

impl SettingsPage {
    /// The refusal to show at the top of `section`, when the last change there was refused.
    fn problem_in(&self, section: &str) -> Option<&str> {
        match &self.problem {
            Some((s, r)) if s == section => r.above(&[]),
            _ => None,
        }
    }

    /// Whether the field `field` of `section` is the one refused.
    fn invalid(&self, section: &str, field: &str) -> bool {
        matches!(&self.problem, Some((s, r)) if s == section && r.at(field).is_some())
    }
}

/// An export as the settings page lists it (LIF-01).
struct ExportRow {
    id: ideaweave_domain::ExportId,
    created: String,
    expires: String,
    state_key: &'static str,
    active: bool,
    ready: bool,
    done: i64,
    total: i64,
    percent: i64,
    size: String,
}

fn export_rows(c: &Chrome, jobs: Vec<ExportJobView>) -> (Vec<ExportRow>, bool) {
    let exporting = jobs
        .iter()
        .any(|j| j.state == "pending" || j.state == "running");
    let rows = jobs
        .into_iter()
        .map(|j| ExportRow {
            id: j.id,
            created: c.exact(j.created_at),
            expires: c.exact(j.expires_at),
            state_key: match j.state.as_str() {
                "pending" => "export.pending",
                "running" => "export.running",
                "ready" => "export.ready",
                _ => "export.failed",
            },
            active: j.state == "pending" || j.state == "running",
            ready: j.state == "ready",
            done: j.done,
            total: j.total.max(1),
            percent: if j.total > 0 {
                j.done * 100 / j.total
            } else {
                0
            },
            size: match j.bytes {
                Some(b) if b >= 1_048_576 => format!("{:.1} MB", b as f64 / 1_048_576.0),
                Some(b) => format!("{} kB", (b + 1023) / 1024),
                None => String::new(),
            },
        })
        .collect();
    (rows, exporting)
}

#[derive(Template)]
#[template(path = "partials/exports_fragment.html")]
struct ExportsFragment {
    c: Chrome,
    slug: String,
    exports: Vec<ExportRow>,
    exporting: bool,
}
framed!(ExportsFragment);

async fn request_termination(State(s): State<AppState>, WsForm { w, f }: WsForm) -> PageResult {
    let r = s
        .app
        .request_termination(
            &w.m,
            TerminationInput {
                confirm: f.text("confirm"),
            },
        )
        .await;
    settled(&s, w, r, "termination").await
}

async fn cancel_termination(State(s): State<AppState>, WsForm { w, .. }: WsForm) -> PageResult {
    let r = s.app.cancel_termination(&w.m).await;
    settled(&s, w, r, "termination").await
}

async fn start_export(State(s): State<AppState>, WsForm { w, .. }: WsForm) -> PageResult {
    let r = s.app.request_export(&w.m).await;
    settled(&s, w, r, "export").await
}

async fn exports_fragment(State(s): State<AppState>, w: InWorkspace) -> PageResult {
    Ok(match s.app.export_jobs(&w.m).await {
        Ok(jobs) => {
            let (exports, exporting) = export_rows(&w.c, jobs);
            page(
                StatusCode::OK,
                &ExportsFragment {
                    slug: w.ws.slug.clone(),
                    c: w.c,
                    exports,
                    exporting,
                },
            )
        }
        Err(e) => app_error(w.c, e),
    })
}

/// The choices of an erasure mode select, in order (DSR-03).
const ERASURE_CHOICES: [(&str, &str); 2] = [
    ("anonymise", "erasure.anonymise"),
    ("purge", "erasure.purge"),
];

/// The search languages, as the API names them, and their labels.
const SEARCH_LANGUAGES: [(&str, &str); 2] =
    [("en", "settings.search_en"), ("de", "settings.search_de")];

async fn render_settings(
    s: &AppState,
    w: InWorkspace,
    problem: Option<(String, Refusal)>,
) -> PageResult {
    let w = w.at("settings");
    if !w.is_admin() {
        return Err(PageError::new(
            w.c,
            AppError::Forbidden("admins only".into()),
        ));
    }
    let spaces = s.app.spaces(&w.m).await.or_page(&w.c)?;
    let mut rows = Vec::with_capacity(spaces.len());
    for space in spaces {
        let members = if space.private {
            s.app.space_members(&w.m, space.id).await.or_page(&w.c)?
        } else {
            Vec::new()
        };
        rows.push(SpaceRow { space, members });
    }
    let everyone = match s
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
        Ok(p) => p.items,
        Err(e) => return Err(PageError::new(w.c, e)),
    };
    let retention = s.app.retention_policy(&w.m).await.or_page(&w.c)?;
    let erasure_mode = match s.app.erasure_policy(&w.m).await {
        Ok(p) => p.mode.as_str(),
        Err(e) => return Err(PageError::new(w.c, e)),
    };
    let search_language = s
        .app
        .search_settings(&w.m)
        .await
        .or_page(&w.c)?
        .language
        .as_str();
    // Exports need a signed-in admin; the section is left out otherwise.
    let (exports, exporting) = match s.app.export_jobs(&w.m).await {
        Ok(jobs) => export_rows(&w.c, jobs),
        Err(_) => (Vec::new(), false),
    };
    let termination = s.app.termination(&w.m).await.or_page(&w.c)?;
    let status = if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(page(
        status,
        &SettingsPage {
            retention,
            erasure_mode,
            erasure_choices: ERASURE_CHOICES,
            search_language,
            search_languages: SEARCH_LANGUAGES,
            exports,
            exporting,
            is_owner: w.m.role() == Role::Owner,
            deletion_due: termination.due_at.map(|t| w.c.exact(t)),
            grace_days: termination.grace_days,
            slug: w.ws.slug.clone(),
            name: w.ws.name.clone(),
            stages: w.ws.stages,
            criteria: w.ws.criteria,
            spaces: rows,
            everyone,
            problem,
            c: w.c,
        },
    ))
}

async fn settings_page(State(s): State<AppState>, w: InWorkspace) -> PageResult {
    render_settings(&s, w, None).await
}

/// After a settings change: back to the page, or the page again with what went wrong.
async fn settled<T>(
    s: &AppState,
    w: InWorkspace,
    result: AppResult<T>,
    anchor: &str,
) -> PageResult {
    Ok(match result {
        Ok(_) => Redirect::to(&format!("/w/{}/settings#{anchor}", w.ws.slug)).into_response(),
        Err(e) => match Refusal::of(&e, w.c.tr) {
            Some(p) => render_settings(s, w, Some((anchor.to_owned(), p))).await?,
            None => return Err(PageError::new(w.c, e)),
        },
    })
}

fn position_of(f: &Fields) -> Option<i64> {
    f.get("position")
        .filter(|p| !p.is_empty())
        .and_then(|p| p.parse::<i64>().ok())
        .map(|p| p - 1)
}

async fn rename(State(s): State<AppState>, WsForm { w, f }: WsForm) -> PageResult {
    let r = s
        .app
        .rename_workspace(
            &w.m,
            WorkspacePatch {
                name: f.text("name"),
            },
        )
        .await;
    settled(&s, w, r, "name").await
}

/// A period typed in the retention form, in days.
fn days(f: &Fields, field: &str) -> Result<u32, AppError> {
    f.get(field)
        .and_then(|v| v.trim().parse::<u32>().ok())
        .ok_or_else(|| {
            ideaweave_domain::ValidationError::new(field, "must be a whole number of days").into()
        })
}

async fn set_retention(State(s): State<AppState>, WsForm { w, f }: WsForm) -> PageResult {
    let policy = (|| {
        Ok(ideaweave_domain::RetentionPolicy {
            activity_days: days(&f, "activity_days")?,
            deleted_days: days(&f, "deleted_days")?,
            invitation_days: days(&f, "invitation_days")?,
        })
    })();
    let r = match policy {
        Ok(p) => s.app.set_retention_policy(&w.m, p).await,
        Err(e) => Err(e),
    };
    settled(&s, w, r, "retention").await
}

/// The mode chosen in an erasure form.
fn erasure_mode(f: &Fields) -> Result<ideaweave_domain::ErasureMode, AppError> {
    f.parsed::<ideaweave_domain::ErasureMode>("mode")
        .ok_or_else(|| AppError::invalid("mode", "choose anonymise or purge"))
}

async fn set_erasure_policy(State(s): State<AppState>, WsForm { w, f }: WsForm) -> PageResult {
    let r = match erasure_mode(&f) {
        Ok(mode) => s.app.set_erasure_policy(&w.m, ErasurePolicy { mode }).await,
        Err(e) => Err(e),
    };
    settled(&s, w, r, "erasure").await
}

async fn set_search_language(State(s): State<AppState>, WsForm { w, f }: WsForm) -> PageResult {
    let language = match f.get("language") {
        Some("en") => Ok(ideaweave_app::SearchLanguage::En),
        Some("de") => Ok(ideaweave_app::SearchLanguage::De),
        _ => Err(AppError::invalid("language", "choose en or de")),
    };
    let r = match language {
        Ok(language) => {
            s.app
                .set_search_settings(&w.m, ideaweave_app::SearchSettings { language })
                .await
        }
        Err(e) => Err(e),
    };
    settled(&s, w, r, "search").await
}

async fn create_stage(State(s): State<AppState>, WsForm { w, f }: WsForm) -> PageResult {
    let input = NamedItemInput {
        name: f.text("name"),
        position: position_of(&f),
    };
    let r = s.app.create_stage(&w.m, input).await;
    settled(&s, w, r, "stages").await
}

async fn update_stage(
    State(s): State<AppState>,
    Id(id): Id<StageId>,
    WsForm { w, f }: WsForm,
) -> PageResult {
    // The move-up/move-down buttons are the keyboard's way to reorder (dragging is the
    // mouse's); they move the stage one place from where it is now.
    let current =
        w.ws.stages
            .iter()
            .position(|st| st.id == id)
            .map(|p| p as i64);
    let position = match (f.get("move"), current) {
        (Some("up"), Some(p)) => Some((p - 1).max(0)),
        (Some("down"), Some(p)) => Some(p + 1),
        _ => position_of(&f),
    };
    let input = NamedItemInput {
        name: f.text("name"),
        position,
    };
    let r = s.app.update_stage(&w.m, id, input).await;
    settled(&s, w, r, "stages").await
}

async fn delete_stage(
    State(s): State<AppState>,
    Id(id): Id<StageId>,
    WsForm { w, .. }: WsForm,
) -> PageResult {
    let r = s.app.delete_stage(&w.m, id).await;
    settled(&s, w, r, "stages").await
}

async fn create_criterion(State(s): State<AppState>, WsForm { w, f }: WsForm) -> PageResult {
    let input = NamedItemInput {
        name: f.text("name"),
        position: position_of(&f),
    };
    let r = s.app.create_criterion(&w.m, input).await;
    settled(&s, w, r, "criteria").await
}

async fn update_criterion(
    State(s): State<AppState>,
    Id(id): Id<CriterionId>,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let input = NamedItemInput {
        name: f.text("name"),
        position: position_of(&f),
    };
    let r = s.app.update_criterion(&w.m, id, input).await;
    settled(&s, w, r, "criteria").await
}

async fn delete_criterion(
    State(s): State<AppState>,
    Id(id): Id<CriterionId>,
    WsForm { w, .. }: WsForm,
) -> PageResult {
    let r = s.app.delete_criterion(&w.m, id).await;
    settled(&s, w, r, "criteria").await
}

fn space_input(f: &Fields) -> SpaceInput {
    SpaceInput {
        name: f.text("name"),
        description: f.text("description"),
        private: f.get("private") == Some("on"),
    }
}

async fn create_space(State(s): State<AppState>, WsForm { w, f }: WsForm) -> PageResult {
    let r = s.app.create_space(&w.m, space_input(&f)).await;
    settled(&s, w, r, "spaces").await
}

async fn update_space(
    State(s): State<AppState>,
    Id(id): Id<SpaceId>,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let r = s.app.update_space(&w.m, id, space_input(&f)).await;
    settled(&s, w, r, "spaces").await
}

/// Asks before deleting a space, saying how much goes with it.
async fn delete_space_page(
    State(s): State<AppState>,
    w: InWorkspace,
    Id(id): Id<SpaceId>,
) -> PageResult {
    let w = w.at("settings");
    if !w.is_admin() {
        return Err(PageError::new(
            w.c,
            AppError::Forbidden("admins only".into()),
        ));
    }
    let space = s.app.space(&w.m, id).await.or_page(&w.c)?;
    let discussions = s.app.discussions(&w.m, id).await.or_page(&w.c)?;
    let ideas: i64 = discussions.iter().map(|d| d.idea_count).sum();
    let tr = w.c.tr;
    Ok(page(
        StatusCode::OK,
        &crate::ui::content::ConfirmPage {
            heading: tr.get("settings.delete_space_title").to_owned(),
            text: tr
                .get("settings.delete_space_confirm")
                .replace("{name}", &tr.quoted(&space.name))
                .replace(
                    "{discussions}",
                    &tr.count("count.discussions", discussions.len() as i64),
                )
                .replace("{ideas}", &tr.count("count.ideas", ideas)),
            action: format!("/w/{}/settings/spaces/{id}/delete", w.ws.slug),
            back: format!("/w/{}/settings#spaces", w.ws.slug),
            button: "settings.delete_space",
            c: w.c,
        },
    ))
}

async fn delete_space(
    State(s): State<AppState>,
    Id(id): Id<SpaceId>,
    WsForm { w, .. }: WsForm,
) -> PageResult {
    let r = s.app.delete_space(&w.m, id).await;
    settled(&s, w, r, "spaces").await
}

/// Adds (`add=<user>`) or removes (`remove=<user>`) a member of a private space's list.
async fn space_members(
    State(s): State<AppState>,
    Id(id): Id<SpaceId>,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let r = if let Some(user_id) = f.parsed::<UserId>("add") {
        s.app
            .add_space_member(&w.m, id, SpaceMemberInput { user_id })
            .await
    } else if let Some(user) = f.parsed::<UserId>("remove") {
        s.app.remove_space_member(&w.m, id, user).await
    } else {
        Err(AppError::invalid("user", "choose a member"))
    };
    settled(&s, w, r, "spaces").await
}

// ---- tokens ----------------------------------------------------------------------------------

struct TokenRow {
    id: TokenId,
    name: String,
    write: bool,
    created: String,
    expires: String,
    /// The day last used, or `None` if never.
    used: Option<String>,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    c: Chrome,
    slug: String,
    tokens: Vec<TokenRow>,
    secret: Option<String>,
    draft_name: String,
    draft_days: String,
    problem: Problem,
}
framed!(TokensPage);

/// What the new-token form holds after a refusal: the name and the days typed.
#[derive(Default)]
struct TokenDraft {
    name: String,
    days: String,
}

async fn render_tokens(
    s: &AppState,
    w: InWorkspace,
    secret: Option<String>,
    draft: TokenDraft,
    problem: Problem,
) -> PageResult {
    let w = w.at("tokens");
    let tokens = s.app.tokens(&w.m).await.or_page(&w.c)?;
    let never = w.c.tr.get("tokens.never").to_owned();
    Ok(page(
        problem.status(),
        &TokensPage {
            slug: w.ws.slug.clone(),
            tokens: tokens
                .into_iter()
                .map(|t| TokenRow {
                    id: t.id,
                    name: t.name,
                    write: t.scope == TokenScope::Write,
                    created: w.c.exact(t.created_at),
                    expires: t
                        .expires_at
                        .map(|e| w.c.exact(e))
                        .unwrap_or_else(|| never.clone()),
                    used: t.last_used_on.map(day),
                    revoked: t.revoked,
                })
                .collect(),
            secret,
            draft_name: draft.name,
            draft_days: draft.days,
            problem,
            c: w.c,
        },
    ))
}

async fn tokens_page(State(s): State<AppState>, w: InWorkspace) -> PageResult {
    render_tokens(&s, w, None, TokenDraft::default(), Problem::default()).await
}

async fn create_token(State(s): State<AppState>, WsForm { w, f }: WsForm) -> PageResult {
    let draft = TokenDraft {
        name: f.text("name"),
        days: f.text("days").trim().to_owned(),
    };
    let scope = if f.get("scope") == Some("write") {
        TokenScope::Write
    } else {
        TokenScope::Read
    };
    let expires_in_days = if draft.days.is_empty() {
        None
    } else if let Ok(n) = draft.days.parse::<u32>() {
        Some(n)
    } else {
        let refusal =
            Refusal::at_field("expires_in_days", w.c.tr.get("tokens.bad_days").to_owned());
        return render_tokens(&s, w, None, draft, Problem(Some(refusal))).await;
    };
    let input = TokenInput {
        name: draft.name.clone(),
        scope,
        expires_in_days,
    };
    Ok(match s.app.create_token(&w.m, input).await {
        Ok(created) => {
            let secret = Some(created.secret);
            render_tokens(&s, w, secret, TokenDraft::default(), Problem::default()).await?
        }
        Err(e) => match Refusal::of(&e, w.c.tr) {
            Some(r) => render_tokens(&s, w, None, draft, Problem(Some(r))).await?,
            None => return Err(PageError::new(w.c, e)),
        },
    })
}

async fn revoke_token(
    State(s): State<AppState>,
    Id(id): Id<TokenId>,
    WsForm { w, .. }: WsForm,
) -> PageResult {
    Ok(match s.app.revoke_token(&w.m, id).await {
        Ok(()) => Redirect::to(&format!("/w/{}/tokens", w.ws.slug)).into_response(),
        Err(e) => app_error(w.c, e),
    })
}
