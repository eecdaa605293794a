//! Signing in and out, the list of one's workspaces, and accepting an invitation.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use ideaweave_app::{
    AcceptInput, AppError, Credential, InvitationInfo, LoginOutcome, Principal, SignInStep,
};
use serde::Deserialize;

use crate::AppState;
use crate::extract::{Client, session_cookie};
use crate::ui::guard::{Visitor, csrf_ok, stale_form};
use crate::ui::{
    Catalog, Chrome, OrPage, PageError, PageResult, Problem, Refusal, app_error, error_page,
    framed, input_problem, page,
};

pub(crate) fn role_key(role: ideaweave_domain::Role) -> &'static str {
    use ideaweave_domain::Role::*;
    match role {
        Owner => "role.owner",
        Admin => "role.admin",
        Moderator => "role.moderator",
        Member => "role.member",
        Guest => "role.guest",
    }
}

/// The signed-in person of this request, if any.
async fn signed_in(s: &AppState, headers: &HeaderMap) -> Option<Principal> {
    let cookie = session_cookie(headers)?;
    s.app.authenticate(&Credential::Session(cookie)).await.ok()
}

struct WorkspaceCard {
    slug: String,
    name: String,
    role_key: &'static str,
}

/// A workspace that invites support, on an operator's home page (SUP-01).
struct InvitationCard {
    slug: String,
    name: String,
    manage: bool,
    until: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    c: Chrome,
    workspaces: Vec<WorkspaceCard>,
    /// For operator accounts: where support is invited now.
    invitations: Vec<InvitationCard>,
}
framed!(HomePage);

pub(crate) async fn home(State(s): State<AppState>, v: Visitor) -> PageResult {
    let me = s.app.me(&v.p).await.or_page(&v.c)?;
    let operator = v.p.session.as_ref().is_some_and(|s| s.operator);
    let invitations = if operator {
        match s.app.support_invitations(&v.p).await {
            Ok(list) => list
                .into_iter()
                .map(|i| InvitationCard {
                    slug: i.workspace,
                    name: i.workspace_name,
                    manage: i.scope == ideaweave_domain::SupportScope::Manage,
                    until: v.c.exact(i.expires_at),
                    reason: i.reason.unwrap_or_default(),
                })
                .collect(),
            Err(e) => return Err(PageError::new(v.c, e)),
        }
    } else {
        Vec::new()
    };
    Ok(page(
        StatusCode::OK,
        &HomePage {
            invitations,
            c: v.c,
            workspaces: me
                .workspaces
                .into_iter()
                .map(|w| WorkspaceCard {
                    slug: w.slug,
                    name: w.name,
                    role_key: role_key(w.role),
                })
                .collect(),
        },
    ))
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    c: Chrome,
    email: String,
    next: String,
    failed: bool,
    /// Why sign-in is refused for now (too many attempts), with when to retry.
    problem: Option<String>,
    /// The visitor just deleted their account.
    deleted: bool,
}
framed!(SignInPage);

/// Where to go after signing in: a path on this site only (never `//host` or `/\host`, which
/// browsers read as another site).
pub(crate) fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(|c| c.is_control()) =>
        {
            n
        }
        _ => "/",
    }
}

#[derive(Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
    /// Set after an account was deleted, to say so.
    deleted: Option<String>,
}

pub(crate) async fn sign_in_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<NextQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let next = safe_next(q.as_ref().ok().and_then(|q| q.next.as_deref())).to_owned();
    let deleted = q.as_ref().is_ok_and(|q| q.deleted.is_some());
    if signed_in(&s, &headers).await.is_some() {
        return Redirect::to(&next).into_response();
    }
    page(
        StatusCode::OK,
        &SignInPage {
            c: Chrome::anonymous(&headers),
            email: String::new(),
            next,
            failed: false,
            problem: None,
            deleted,
        },
    )
}

/// The sign-in form.
#[derive(Deserialize)]
pub(crate) struct SignInForm {
    email: String,
    password: String,
    /// The authenticator's code, offered once sign-in for the address is slowed down.
    code: Option<String>,
    next: Option<String>,
}

/// True unless the browser says the form came from another origin (login CSRF).
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| *o != "null");
    match (origin, host) {
        (Some(o), Some(h)) => o.split_once("://").map(|(_, rest)| rest) == Some(h),
        (Some(_), None) => false,
        (None, _) => !matches!(
            headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
            Some("cross-site" | "same-site")
        ),
    }
}

/// A 303 to `to` that sets the session cookie of `login`.
pub(crate) fn start_session(
    s: &AppState,
    headers: &HeaderMap,
    login: &LoginOutcome,
    to: &str,
) -> Response {
    let ttl = s.app.settings().session_ttl.as_secs();
    let cookie = crate::api::identity::session::session_cookie_header(s, &login.session, ttl);
    let location = HeaderValue::from_str(to);
    match (cookie, location) {
        (Ok(cookie), Ok(location)) => (
            StatusCode::SEE_OTHER,
            [(header::SET_COOKIE, cookie), (header::LOCATION, location)],
        )
            .into_response(),
        _ => error_page(headers, StatusCode::INTERNAL_SERVER_ERROR),
    }
}

pub(crate) async fn sign_in(
    State(s): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> PageResult {
    let Ok(Form(form)) = form else {
        return Ok(error_page(&headers, StatusCode::BAD_REQUEST));
    };
    if !same_origin(&headers) {
        return Ok(error_page(&headers, StatusCode::BAD_REQUEST));
    }
    let next = safe_next(form.next.as_deref()).to_owned();
    let input = ideaweave_app::LoginInput {
        code: form.code.clone(),
        ..ideaweave_app::LoginInput::password(&form.email, &form.password)
    };
    Ok(match s.app.login(&input, &client).await {
        Ok(SignInStep::Done(login)) => start_session(&s, &headers, &login, &next),
        Ok(SignInStep::SecondFactor(challenge)) => page(
            StatusCode::OK,
            &crate::ui::identity::security::SecondFactorPage {
                c: Chrome::anonymous(&headers),
                totp: challenge.methods.contains(&"totp"),
                passkey: challenge.methods.contains(&"passkey"),
                challenge: challenge.challenge,
                next,
                problem: None,
            },
        ),
        Err(e @ (AppError::Forbidden(_) | AppError::TooManyAttempts { .. })) => {
            let throttled = match e {
                AppError::TooManyAttempts { retry_after_secs } => Some(retry_after_secs),
                _ => None,
            };
            let c = Chrome::anonymous(&headers);
            let problem = throttled.map(|secs| {
                c.tr.get("sign_in.throttled")
                    .replace("{wait}", &crate::ui::format::wait(c.tr, secs))
            });
            let throttled = throttled.is_some();
            page(
                if throttled {
                    StatusCode::TOO_MANY_REQUESTS
                } else {
                    StatusCode::UNAUTHORIZED
                },
                &SignInPage {
                    c,
                    email: form.email,
                    next,
                    failed: !throttled,
                    problem,
                    deleted: false,
                },
            )
        }
        Err(e) => app_error(Chrome::anonymous(&headers), e),
    })
}

/// A form that carries only the session's anti-CSRF token.
#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    pub csrf: String,
}

pub(crate) async fn sign_out(
    State(s): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> PageResult {
    let Ok(Form(form)) = form else {
        return Ok(stale_form(&headers));
    };
    if !csrf_ok(v.p.csrf.as_deref(), &form.csrf) {
        return Ok(stale_form(&headers));
    }
    let mut provider_logout = None;
    if let Some(cookie) = session_cookie(&headers) {
        // Read before the session ends, which forgets it.
        provider_logout = s.app.provider_logout_url(&cookie).await.ok().flatten();
        if let Err(e) = s.app.logout(&cookie, &v.p.client).await {
            return Err(PageError::new(v.c, e));
        }
    }
    if let Some(url) = provider_logout {
        // Signed out here; the provider ends its own session when the browser gets there.
        let Ok(clear) = crate::api::identity::session::session_cookie_header(&s, "", 0) else {
            return Ok(error_page(&headers, StatusCode::INTERNAL_SERVER_ERROR));
        };
        let mut response = page(
            StatusCode::OK,
            &crate::ui::identity::sso::ContinuePage {
                c: Chrome::anonymous(&headers),
                title_key: "sso.signed_out_title",
                text_key: "sso.signed_out_text",
                link_key: "sso.signed_out_continue",
                url,
            },
        );
        response.headers_mut().insert(header::SET_COOKIE, clear);
        return Ok(response);
    }
    Ok(
        match crate::api::identity::session::session_cookie_header(&s, "", 0) {
            Ok(clear) => (
                StatusCode::SEE_OTHER,
                [
                    (header::SET_COOKIE, clear),
                    (header::LOCATION, HeaderValue::from_static("/sign-in")),
                ],
            )
                .into_response(),
            Err(_) => error_page(&headers, StatusCode::INTERNAL_SERVER_ERROR),
        },
    )
}

#[derive(Template)]
#[template(path = "invitation.html")]
struct InvitationPage {
    c: Chrome,
    token: String,
    info: InvitationInfo,
    role_key: &'static str,
    /// Signed in as the invited account: one button accepts.
    as_invitee: bool,
    /// Signed in as someone else.
    as_other: bool,
    name: String,
    /// A refusal: at the new account's field it is about, otherwise above the form.
    problem: Problem,
}
framed!(InvitationPage);

async fn invitation_view(
    s: &AppState,
    headers: &HeaderMap,
    token: String,
    name: String,
    problem: Option<Refusal>,
    status: StatusCode,
) -> PageResult {
    let principal = signed_in(s, headers).await;
    let mut c = Chrome::anonymous(headers);
    if let Some(p) = &principal {
        c.signed_in = true;
        c.csrf = p.csrf.clone().unwrap_or_default();
    }
    let info = s.app.invitation_info(&token).await.or_page(&c)?;
    let me = match &principal {
        Some(p) => s.app.me(p).await.ok(),
        None => None,
    };
    let as_invitee = me
        .as_ref()
        .is_some_and(|me| me.user.email.eq_ignore_ascii_case(&info.email));
    Ok(page(
        status,
        &InvitationPage {
            c,
            token,
            role_key: role_key(info.role),
            as_invitee,
            as_other: me.is_some() && !as_invitee,
            info,
            name,
            problem: Problem(problem),
        },
    ))
}

pub(crate) async fn invitation_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> PageResult {
    invitation_view(&s, &headers, token, String::new(), None, StatusCode::OK).await
}

/// Accepting: a new account's name and password (twice), or, signed in, just the token.
#[derive(Deserialize)]
pub(crate) struct AcceptForm {
    csrf: Option<String>,
    name: Option<String>,
    password: Option<String>,
    password_again: Option<String>,
}

pub(crate) async fn accept_invitation(
    State(s): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    Path(token): Path<String>,
    form: Result<Form<AcceptForm>, FormRejection>,
) -> PageResult {
    let Ok(Form(form)) = form else {
        return Ok(stale_form(&headers));
    };
    if !same_origin(&headers) {
        return Ok(stale_form(&headers));
    }
    let principal = signed_in(&s, &headers).await;
    let tr = Catalog::for_request(&headers);
    let name = form.name.clone().unwrap_or_default();
    let input = match (&principal, form.password) {
        // A new account: the password typed twice, the same both times.
        (_, Some(password)) => {
            if form.password_again.as_deref() != Some(password.as_str()) {
                let problem = Some(Refusal::at_field(
                    "password_again",
                    tr.get("invite.mismatch").to_owned(),
                ));
                return invitation_view(
                    &s,
                    &headers,
                    token,
                    name,
                    problem,
                    StatusCode::BAD_REQUEST,
                )
                .await;
            }
            AcceptInput {
                name: form.name,
                password: Some(password),
            }
        }
        // Signed in: only with the session's token.
        (Some(p), None) => {
            if !csrf_ok(p.csrf.as_deref(), form.csrf.as_deref().unwrap_or("")) {
                return Ok(stale_form(&headers));
            }
            AcceptInput {
                name: None,
                password: None,
            }
        }
        (None, None) => return Ok(stale_form(&headers)),
    };
    Ok(
        match s
            .app
            .accept_invitation(&token, principal.as_ref(), input, &client)
            .await
        {
            Ok((membership, Some(login))) => {
                start_session(&s, &headers, &login, &format!("/w/{}", membership.slug))
            }
            Ok((membership, None)) => {
                Redirect::to(&format!("/w/{}", membership.slug)).into_response()
            }
            Err(e) => match Refusal::of(&e, Catalog::for_request(&headers)) {
                Some(problem) if !matches!(e, AppError::Conflict(_)) => {
                    invitation_view(
                        &s,
                        &headers,
                        token,
                        name,
                        Some(problem),
                        StatusCode::BAD_REQUEST,
                    )
                    .await?
                }
                _ => {
                    let mut c = Chrome::anonymous(&headers);
                    c.signed_in = principal.is_some();
                    app_error(c, e)
                }
            },
        },
    )
}

// ---- password reset --------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "reset_request.html")]
struct ResetRequestPage {
    c: Chrome,
    email: String,
    /// The request was taken: the page says a link is on its way if the account exists.
    sent: bool,
    /// This instance sends no email, so there is no reset by link.
    unavailable: bool,
    problem: Option<String>,
}
framed!(ResetRequestPage);

pub(crate) async fn reset_request_page(headers: HeaderMap) -> Response {
    page(
        StatusCode::OK,
        &ResetRequestPage {
            c: Chrome::anonymous(&headers),
            email: String::new(),
            sent: false,
            unavailable: false,
            problem: None,
        },
    )
}

#[derive(Deserialize)]
pub(crate) struct ResetRequestForm {
    email: String,
}

/// Asks for a reset link. The page reads the same whether or not the address has an account.
pub(crate) async fn request_reset(
    State(s): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    form: Result<Form<ResetRequestForm>, FormRejection>,
) -> PageResult {
    let Ok(Form(form)) = form else {
        return Ok(stale_form(&headers));
    };
    if !same_origin(&headers) {
        return Ok(stale_form(&headers));
    }
    let mut view = ResetRequestPage {
        c: Chrome::anonymous(&headers),
        email: form.email.clone(),
        sent: false,
        unavailable: false,
        problem: None,
    };
    let status = match s.app.request_password_reset(&form.email, &client).await {
        Ok(()) => {
            view.sent = true;
            StatusCode::OK
        }
        Err(AppError::Conflict(_)) => {
            view.unavailable = true;
            StatusCode::CONFLICT
        }
        Err(e) => match input_problem(&e, view.c.tr) {
            Some(p) => {
                view.problem = Some(p);
                StatusCode::BAD_REQUEST
            }
            None => return Err(PageError::new(view.c, e)),
        },
    };
    Ok(page(status, &view))
}

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPasswordPage {
    c: Chrome,
    token: String,
    email: String,
    done: bool,
    /// A refusal, at the field it is about.
    problem: Problem,
}
framed!(ResetPasswordPage);

async fn reset_view(
    s: &AppState,
    headers: &HeaderMap,
    token: String,
    problem: Option<Refusal>,
) -> PageResult {
    let c = Chrome::anonymous(headers);
    let problem = Problem(problem);
    Ok(match s.app.password_reset_info(&token).await {
        Ok(info) => page(
            problem.status(),
            &ResetPasswordPage {
                c,
                token,
                email: info.email,
                done: false,
                problem,
            },
        ),
        Err(e) => app_error(c, e),
    })
}

pub(crate) async fn reset_password_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> PageResult {
    reset_view(&s, &headers, token, None).await
}

#[derive(Deserialize)]
pub(crate) struct NewPasswordForm {
    password: String,
    password_again: String,
}

pub(crate) async fn reset_password(
    State(s): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    Path(token): Path<String>,
    form: Result<Form<NewPasswordForm>, FormRejection>,
) -> PageResult {
    let Ok(Form(form)) = form else {
        return Ok(stale_form(&headers));
    };
    if !same_origin(&headers) {
        return Ok(stale_form(&headers));
    }
    let tr = Catalog::for_request(&headers);
    if form.password != form.password_again {
        let problem = Refusal::at_field("password_again", tr.get("invite.mismatch").to_owned());
        return reset_view(&s, &headers, token, Some(problem)).await;
    }
    Ok(
        match s.app.reset_password(&token, &form.password, &client).await {
            Ok(()) => page(
                StatusCode::OK,
                &ResetPasswordPage {
                    c: Chrome::anonymous(&headers),
                    token: String::new(),
                    email: String::new(),
                    done: true,
                    problem: Problem::default(),
                },
            ),
            Err(e) => match Refusal::of(&e, tr) {
                Some(p) if !matches!(e, AppError::Conflict(_)) => {
                    reset_view(&s, &headers, token, Some(p)).await?
                }
                _ => app_error(Chrome::anonymous(&headers), e),
            },
        },
    )
}

#[derive(Template)]
#[template(path = "email_change.html")]
struct EmailChangePage {
    c: Chrome,
    token: String,
    email: String,
    done: bool,
}
framed!(EmailChangePage);

/// The page a confirmation link opens: it shows the new address and asks for a click, so that
/// a mail scanner following the link changes nothing (DSR-02).
pub(crate) async fn email_change_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> PageResult {
    let c = Chrome::anonymous(&headers);
    Ok(match s.app.email_change_info(&token).await {
        Ok(info) => page(
            StatusCode::OK,
            &EmailChangePage {
                c,
                token,
                email: info.email,
                done: false,
            },
        ),
        Err(e) => app_error(c, e),
    })
}

pub(crate) async fn confirm_email_change(
    State(s): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> PageResult {
    if !same_origin(&headers) {
        return Ok(stale_form(&headers));
    }
    let c = Chrome::anonymous(&headers);
    let email = match s.app.email_change_info(&token).await {
        Ok(info) => info.email,
        Err(e) => return Err(PageError::new(c, e)),
    };
    Ok(match s.app.confirm_email_change(&token, &client).await {
        Ok(()) => page(
            StatusCode::OK,
            &EmailChangePage {
                c,
                token: String::new(),
                email,
                done: true,
            },
        ),
        Err(e) => app_error(c, e),
    })
}
