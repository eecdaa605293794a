//! Account security pages (IDN-01, IDN-02, IDN-04): the second step of signing in, confirming
//! it is you before a sensitive action, changing one's password, the authenticator app and
//! recovery codes, and one's sessions.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use ideaweave_app::{
    ActiveSession, AppError, PasswordChangeInput, ReauthMethods, RotatedSession, SecondFactorInput,
    SecondFactorsView, TotpEnrolment,
};
use serde::Deserialize;

use crate::AppState;
use crate::extract::Client;
use crate::ui::guard::{Fields, Visitor, stale_form};
use crate::ui::identity::session::{safe_next, same_origin, start_session};
use crate::ui::{
    Catalog, Chrome, OrPage, PageError, PageResult, Problem, Refusal, app_error, error_page,
    framed, input_problem, page,
};

#[derive(Template)]
#[template(path = "sign_in_code.html")]
pub(crate) struct SecondFactorPage {
    pub c: Chrome,
    pub challenge: String,
    pub next: String,
    pub problem: Option<String>,
    /// An authenticator code (or a recovery code) may answer.
    pub totp: bool,
    /// A passkey may answer.
    pub passkey: bool,
}
framed!(SecondFactorPage);

/// The sign-in's second step: a code from the authenticator app, or a recovery code.
pub(crate) async fn second_factor(
    State(s): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    f: Fields,
) -> PageResult {
    if !same_origin(&headers) {
        return Ok(error_page(&headers, StatusCode::BAD_REQUEST));
    }
    let next = safe_next(f.get("next")).to_owned();
    let input = SecondFactorInput {
        challenge: Some(f.text("challenge")),
        code: f.get("code").map(str::to_owned),
        recovery_code: f.get("recovery_code").map(str::to_owned),
        password: None,
        passkey: None,
    };
    Ok(match s.app.complete_second_factor(&input, &client).await {
        Ok(login) => start_session(&s, &headers, &login, &next),
        Err(e @ (AppError::Forbidden(_) | AppError::TooManyAttempts { .. })) => {
            let void = matches!(&e, AppError::Forbidden(m) if m.contains("sign in again"));
            if void {
                return Ok(Redirect::to("/sign-in").into_response());
            }
            page(
                if matches!(e, AppError::TooManyAttempts { .. }) {
                    StatusCode::TOO_MANY_REQUESTS
                } else {
                    StatusCode::UNAUTHORIZED
                },
                &SecondFactorPage {
                    problem: Some(Catalog::for_request(&headers).input_problem(&e)),
                    c: Chrome::anonymous(&headers),
                    challenge: f.text("challenge"),
                    next,
                    totp: true,
                    passkey: f.get("passkey") == Some("1"),
                },
            )
        }
        Err(e) => app_error(Chrome::anonymous(&headers), e),
    })
}

#[derive(Template)]
#[template(path = "reauth.html")]
struct ReauthPage {
    c: Chrome,
    next: String,
    methods: ReauthMethods,
    problem: Option<String>,
}
framed!(ReauthPage);

#[derive(Deserialize)]
pub(crate) struct NextOnly {
    next: Option<String>,
}

/// Asks for the password (and a code) again before a sensitive action.
pub(crate) async fn reauth_page(
    State(s): State<AppState>,
    v: Visitor,
    q: Result<Query<NextOnly>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let next = safe_next(q.ok().and_then(|Query(q)| q.next).as_deref()).to_owned();
    let methods = s.app.reauth_methods(&v.p).await.or_page(&v.c)?;
    Ok(page(
        StatusCode::OK,
        &ReauthPage {
            c: v.c,
            next,
            methods,
            problem: None,
        },
    ))
}

/// Sets the rotated session's cookie and goes to `to`.
fn rotated_to(s: &AppState, headers: &HeaderMap, r: &RotatedSession, to: &str) -> Response {
    let ttl = s.app.settings().session_ttl.as_secs();
    let cookie = crate::api::identity::session::session_cookie_header(s, &r.session, ttl);
    match (cookie, HeaderValue::from_str(to)) {
        (Ok(cookie), Ok(location)) => (
            StatusCode::SEE_OTHER,
            [(header::SET_COOKIE, cookie), (header::LOCATION, location)],
        )
            .into_response(),
        _ => error_page(headers, StatusCode::INTERNAL_SERVER_ERROR),
    }
}

pub(crate) async fn reauthenticate(
    State(s): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    f: Fields,
) -> PageResult {
    if !f.csrf_ok(&v.c) {
        return Ok(stale_form(&headers));
    }
    let next = safe_next(f.get("next")).to_owned();
    let input = SecondFactorInput {
        challenge: None,
        code: f.get("code").map(str::to_owned),
        recovery_code: f.get("recovery_code").map(str::to_owned),
        password: f.get("password").map(str::to_owned),
        passkey: None,
    };
    Ok(match s.app.reauthenticate(&v.p, &input).await {
        Ok(r) => rotated_to(&s, &headers, &r, &next),
        Err(e @ (AppError::Forbidden(_) | AppError::TooManyAttempts { .. })) => {
            let methods = s.app.reauth_methods(&v.p).await.or_page(&v.c)?;
            page(
                StatusCode::UNAUTHORIZED,
                &ReauthPage {
                    problem: Some(v.c.tr.input_problem(&e)),
                    c: v.c,
                    next,
                    methods,
                },
            )
        }
        Err(e) => app_error(v.c, e),
    })
}

/// One session in the list.
struct SessionRow {
    id: String,
    current: bool,
    device: String,
    ip: String,
    location: String,
    started: String,
    last_seen: String,
    ends: String,
    level: &'static str,
}

/// One passkey in the list.
struct PasskeyRow {
    id: String,
    name: String,
    added: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage {
    c: Chrome,
    factors: SecondFactorsView,
    passkeys: Vec<PasskeyRow>,
    sessions: Vec<SessionRow>,
    enrolment: Option<TotpEnrolment>,
    recovery_codes: Vec<String>,
    /// The password form's refusal, at the field it is about.
    password_problem: Problem,
    totp_problem: Option<String>,
    saved: Option<&'static str>,
}
framed!(SecurityPage);

/// What the security page shows beyond the facts.
#[derive(Default)]
struct Shown {
    enrolment: Option<TotpEnrolment>,
    recovery_codes: Vec<String>,
    password_problem: Option<Refusal>,
    totp_problem: Option<String>,
    saved: Option<&'static str>,
}

fn session_row(c: &Chrome, s: ActiveSession) -> SessionRow {
    SessionRow {
        id: s.id.to_string(),
        current: s.current,
        device: s.device.unwrap_or_default(),
        ip: s.ip.unwrap_or_default(),
        location: s.location.unwrap_or_default(),
        started: c.exact(s.created_at),
        last_seen: c.exact(s.last_seen_at),
        ends: c.exact(s.idle_expires_at),
        level: match s.level {
            ideaweave_domain::AuthLevel::Password => "security.level_password",
            ideaweave_domain::AuthLevel::Mfa => "security.level_mfa",
            ideaweave_domain::AuthLevel::Passkey => "security.level_passkey",
        },
    }
}

async fn render(s: &AppState, v: Visitor, status: StatusCode, shown: Shown) -> PageResult {
    let factors = s.app.second_factors(&v.p).await.or_page(&v.c)?;
    let passkeys = match s.app.passkeys(&v.p).await {
        Ok(list) => list
            .into_iter()
            .map(|k| PasskeyRow {
                id: k.id.to_string(),
                name: k.name,
                added: v.c.exact(k.created_at),
                last_used: k.last_used_at.map(|t| v.c.exact(t)).unwrap_or_default(),
            })
            .collect(),
        Err(e) => return Err(PageError::new(v.c, e)),
    };
    let sessions = match s.app.sessions(&v.p).await {
        Ok(list) => list.into_iter().map(|s| session_row(&v.c, s)).collect(),
        Err(e) => return Err(PageError::new(v.c, e)),
    };
    Ok(page(
        status,
        &SecurityPage {
            c: v.c,
            factors,
            passkeys,
            sessions,
            enrolment: shown.enrolment,
            recovery_codes: shown.recovery_codes,
            password_problem: Problem(shown.password_problem),
            totp_problem: shown.totp_problem,
            saved: shown.saved,
        },
    ))
}

#[derive(Deserialize)]
pub(crate) struct SavedQuery {
    saved: Option<String>,
}

pub(crate) async fn security_page(
    State(s): State<AppState>,
    v: Visitor,
    q: Result<Query<SavedQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let saved = match q.ok().and_then(|Query(q)| q.saved).as_deref() {
        Some("password") => Some("security.password_changed"),
        Some("totp_removed") => Some("security.totp_removed"),
        Some("sessions") => Some("security.sessions_ended"),
        Some("passkey") => Some("passkey.added"),
        Some("passkey_removed") => Some("passkey.removed"),
        _ => None,
    };
    render(
        &s,
        v,
        StatusCode::OK,
        Shown {
            saved,
            ..Shown::default()
        },
    )
    .await
}

/// A sensitive action asked for a fresh proof: confirm, then come back here.
fn to_reauth() -> Response {
    Redirect::to("/reauth?next=/account/security").into_response()
}

pub(crate) async fn change_password(
    State(s): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    f: Fields,
) -> PageResult {
    if !f.csrf_ok(&v.c) {
        return Ok(stale_form(&headers));
    }
    if f.get("new_password") != f.get("new_password_again") {
        let problem = Some(Refusal::at_field(
            "new_password_again",
            v.c.tr.get("security.passwords_differ").to_owned(),
        ));
        return render(
            &s,
            v,
            StatusCode::BAD_REQUEST,
            Shown {
                password_problem: problem,
                ..Shown::default()
            },
        )
        .await;
    }
    let input = PasswordChangeInput {
        current_password: f.text("current_password"),
        new_password: f.text("new_password"),
        end_other_sessions: f.get("end_other_sessions") == Some("on"),
    };
    Ok(match s.app.change_password(&v.p, &input).await {
        Ok((_, r)) => rotated_to(&s, &headers, &r, "/account/security?saved=password"),
        Err(e) => match (&e, Refusal::of(&e, v.c.tr)) {
            (_, Some(r)) => {
                render(
                    &s,
                    v,
                    StatusCode::BAD_REQUEST,
                    Shown {
                        password_problem: Some(r),
                        ..Shown::default()
                    },
                )
                .await?
            }
            (AppError::TooManyAttempts { .. }, None) => {
                let problem = Some(Refusal::general(v.c.tr.input_problem(&e)));
                render(
                    &s,
                    v,
                    StatusCode::BAD_REQUEST,
                    Shown {
                        password_problem: problem,
                        ..Shown::default()
                    },
                )
                .await?
            }
            _ => app_error(v.c, e),
        },
    })
}

pub(crate) async fn start_totp(
    State(s): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    f: Fields,
) -> PageResult {
    if !f.csrf_ok(&v.c) {
        return Ok(stale_form(&headers));
    }
    Ok(match s.app.start_totp(&v.p).await {
        Ok(enrolment) => {
            render(
                &s,
                v,
                StatusCode::OK,
                Shown {
                    enrolment: Some(enrolment),
                    ..Shown::default()
                },
            )
            .await?
        }
        Err(AppError::ReauthenticationRequired) => to_reauth(),
        Err(e) => app_error(v.c, e),
    })
}

pub(crate) async fn confirm_totp(
    State(s): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    f: Fields,
) -> PageResult {
    if !f.csrf_ok(&v.c) {
        return Ok(stale_form(&headers));
    }
    Ok(match s.app.confirm_totp(&v.p, &f.text("code")).await {
        Ok((codes, r)) => {
            // The page shows the codes once, so it is rendered here, with the new cookie.
            let ttl = s.app.settings().session_ttl.as_secs();
            let Ok(cookie) =
                crate::api::identity::session::session_cookie_header(&s, &r.session, ttl)
            else {
                return Ok(error_page(&headers, StatusCode::INTERNAL_SERVER_ERROR));
            };
            let mut c = v.c;
            c.csrf = r.csrf.clone();
            let mut p = v.p;
            p.csrf = Some(r.csrf);
            let mut response = render(
                &s,
                Visitor { p, c },
                StatusCode::OK,
                Shown {
                    recovery_codes: codes.codes,
                    ..Shown::default()
                },
            )
            .await
            // The session was renewed: even an error page must carry its new cookie, or the
            // browser is signed out.
            .unwrap_or_else(IntoResponse::into_response);
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            response
        }
        Err(e) => match input_problem(&e, v.c.tr) {
            Some(problem) => {
                render(
                    &s,
                    v,
                    StatusCode::BAD_REQUEST,
                    Shown {
                        totp_problem: Some(problem),
                        ..Shown::default()
                    },
                )
                .await?
            }
            None => app_error(v.c, e),
        },
    })
}

pub(crate) async fn remove_totp(
    State(s): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    f: Fields,
) -> PageResult {
    if !f.csrf_ok(&v.c) {
        return Ok(stale_form(&headers));
    }
    Ok(match s.app.remove_totp(&v.p).await {
        Ok(()) => Redirect::to("/account/security?saved=totp_removed").into_response(),
        Err(AppError::ReauthenticationRequired) => to_reauth(),
        Err(e) => app_error(v.c, e),
    })
}

pub(crate) async fn regenerate_codes(
    State(s): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    f: Fields,
) -> PageResult {
    if !f.csrf_ok(&v.c) {
        return Ok(stale_form(&headers));
    }
    Ok(match s.app.regenerate_recovery_codes(&v.p).await {
        Ok(codes) => {
            render(
                &s,
                v,
                StatusCode::OK,
                Shown {
                    recovery_codes: codes.codes,
                    ..Shown::default()
                },
            )
            .await?
        }
        Err(AppError::ReauthenticationRequired) => to_reauth(),
        Err(e) => app_error(v.c, e),
    })
}

pub(crate) async fn revoke_session(
    State(s): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    Path(id): Path<String>,
    f: Fields,
) -> PageResult {
    if !f.csrf_ok(&v.c) {
        return Ok(stale_form(&headers));
    }
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return Ok(error_page(&headers, StatusCode::NOT_FOUND));
    };
    Ok(match s.app.revoke_session(&v.p, id).await {
        Ok(()) => Redirect::to("/account/security?saved=sessions").into_response(),
        Err(e) => app_error(v.c, e),
    })
}

pub(crate) async fn revoke_other_sessions(
    State(s): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    f: Fields,
) -> PageResult {
    if !f.csrf_ok(&v.c) {
        return Ok(stale_form(&headers));
    }
    s.app.revoke_other_sessions(&v.p).await.or_page(&v.c)?;
    Ok(Redirect::to("/account/security?saved=sessions").into_response())
}

pub(crate) async fn remove_passkey(
    State(s): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    Path(id): Path<String>,
    f: Fields,
) -> PageResult {
    if !f.csrf_ok(&v.c) {
        return Ok(stale_form(&headers));
    }
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return Ok(error_page(&headers, StatusCode::NOT_FOUND));
    };
    Ok(match s.app.remove_passkey(&v.p, id).await {
        Ok(()) => Redirect::to("/account/security?saved=passkey_removed").into_response(),
        Err(AppError::ReauthenticationRequired) => to_reauth(),
        Err(e) => app_error(v.c, e),
    })
}
