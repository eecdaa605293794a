//! Single sign-on pages (IDN-03): off to the workspace's identity provider and back.
//!
//! The page policy allows forms to post only here (`form-action 'self'`), and browsers apply
//! that to where a form's answer redirects. So a form never redirects to a provider: it gets a
//! page with a link there, which the page script follows at once (and a person without script
//! clicks).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use ideaweave_app::{AppError, Credential, SsoStart};
use serde::Deserialize;

use crate::AppState;
use crate::extract::{Client, cookie, session_cookie};
use crate::ui::guard::{Fields, Visitor, stale_form};
use crate::ui::identity::session::{safe_next, start_session};
use crate::ui::{Chrome, app_error, error_page_with, framed, page};

/// The cookie that ties a single sign-on to the browser that started it. Over HTTPS it is a
/// `__Host-` cookie, which a neighbouring subdomain cannot set (cookie tossing would otherwise
/// let one finish someone else's sign-in as oneself).
fn sso_cookie(s: &AppState) -> &'static str {
    if s.secure_cookies {
        "__Host-iw_sso"
    } else {
        "iw_sso"
    }
}

/// `response` with the single-sign-on cookie set to `value` (empty and expired clears it).
fn with_sso_cookie(s: &AppState, mut response: Response, value: &str, max_age: u32) -> Response {
    let (secure, path) = if s.secure_cookies {
        ("; Secure", "/")
    } else {
        ("", "/sso")
    };
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!(
        "{}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        sso_cookie(s)
    )) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, v);
    }
    response
}

/// The hand-off page to the provider, with the browser's cookie.
fn hand_off(s: &AppState, headers: &HeaderMap, url: String, browser: &str) -> Response {
    let page = page(
        StatusCode::OK,
        &ContinuePage {
            c: Chrome::anonymous(headers),
            title_key: "sso.title",
            text_key: "sso.continue_text",
            link_key: "sso.continue",
            url,
        },
    );
    with_sso_cookie(s, page, browser, 600)
}

#[derive(Template)]
#[template(path = "sso_continue.html")]
pub(crate) struct ContinuePage {
    pub c: Chrome,
    pub title_key: &'static str,
    pub text_key: &'static str,
    pub link_key: &'static str,
    pub url: String,
}
framed!(ContinuePage);

#[derive(Deserialize)]
pub(crate) struct StartQuery {
    workspace: Option<String>,
    next: Option<String>,
}

/// The sign-in page's "single sign-on" form: the workspace's short name.
pub(crate) async fn start_form(
    State(s): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<StartQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return crate::ui::error_page(&headers, StatusCode::BAD_REQUEST);
    };
    let slug = q.workspace.unwrap_or_default().trim().to_lowercase();
    let next = safe_next(q.next.as_deref()).to_owned();
    match s.app.start_sso(&slug, &next).await {
        Ok(started) => hand_off(&s, &headers, started.redirect_to, &started.browser_secret),
        Err(e) => failed(&headers, e),
    }
}

/// Straight to the provider with the browser's cookie set (a link, not a form: the page
/// policy's `form-action` does not apply), or the failure.
fn redirect_to_provider(
    s: &AppState,
    headers: &HeaderMap,
    started: Result<SsoStart, AppError>,
) -> Response {
    match started {
        Ok(started) => with_sso_cookie(
            s,
            Redirect::to(&started.redirect_to).into_response(),
            &started.browser_secret,
            600,
        ),
        Err(e) => failed(headers, e),
    }
}

/// `GET /sso/{slug}/oidc/start`: a link (not a form) may go straight to the provider.
pub(crate) async fn start(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    q: Result<Query<StartQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let next = safe_next(q.ok().and_then(|Query(q)| q.next).as_deref()).to_owned();
    let started = s.app.start_oidc(&slug, &next).await;
    redirect_to_provider(&s, &headers, started)
}

#[derive(Deserialize)]
pub(crate) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The provider's answer.
pub(crate) async fn callback(
    State(s): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    Path(slug): Path<String>,
    q: Result<Query<CallbackQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return crate::ui::error_page(&headers, StatusCode::BAD_REQUEST);
    };
    if let Some(error) = q.error {
        let why = q.error_description.unwrap_or(error);
        let why: String = why.chars().filter(|c| !c.is_control()).take(200).collect();
        return failed(
            &headers,
            AppError::Forbidden(format!("single sign-on failed: the provider said {why:?}")),
        );
    }
    let (Some(code), Some(state)) = (q.code, q.state) else {
        return crate::ui::error_page(&headers, StatusCode::BAD_REQUEST);
    };
    let current = match session_cookie(&headers) {
        Some(cookie) => s.app.authenticate(&Credential::Session(cookie)).await.ok(),
        None => None,
    };
    let browser = cookie(&headers, sso_cookie(&s));
    let done = s
        .app
        .finish_oidc(
            &slug,
            &code,
            &state,
            browser.as_deref(),
            current.as_ref(),
            &client,
        )
        .await;
    let response = match done {
        Ok((login, next)) => start_session(&s, &headers, &login, safe_next(Some(&next))),
        Err(e) => failed(&headers, e),
    };
    with_sso_cookie(&s, response, "", 0)
}

/// A single-sign-on failure, with what went wrong: it is about the visitor's own sign-in.
fn failed(headers: &HeaderMap, e: AppError) -> Response {
    crate::error::report(&e);
    let status = match crate::error::meaning(&e).status {
        s if s.is_server_error() => return crate::ui::error_page(headers, s),
        // The identity provider answered something that does not fit: its failure, not ours.
        StatusCode::CONFLICT => StatusCode::BAD_GATEWAY,
        s @ (StatusCode::NOT_FOUND | StatusCode::FORBIDDEN) => s,
        // Any other refusal of what came back through the browser is a bad request.
        _ => StatusCode::BAD_REQUEST,
    };
    let c = Chrome::anonymous(headers);
    let detail = match e {
        AppError::NotFound(_) => None,
        other => Some(c.tr.input_problem(&other)),
    };
    error_page_with(c, status, detail, None)
}

/// Links one's account to the single sign-on of a workspace (the security page's form; after
/// a recent re-authentication).
pub(crate) async fn link(
    State(s): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    f: Fields,
) -> Response {
    if !f.csrf_ok(&v.c) {
        return stale_form(&headers);
    }
    let slug = f.text("workspace").trim().to_lowercase();
    match s.app.start_sso_link(&v.p, &slug).await {
        Ok(started) => hand_off(&s, &headers, started.redirect_to, &started.browser_secret),
        Err(AppError::ReauthenticationRequired) => {
            Redirect::to("/reauth?next=/account/security").into_response()
        }
        Err(e @ AppError::NotFound(_)) => app_error(v.c, e),
        Err(e) => failed(&headers, e),
    }
}

/// `GET /sso/{slug}/saml/metadata`: the workspace's service-provider metadata (its entity ID).
pub(crate) async fn saml_metadata(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Response {
    match s.app.saml_sp_metadata(&slug).await {
        Ok(xml) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "application/samlmetadata+xml; charset=utf-8",
            )],
            xml,
        )
            .into_response(),
        Err(e) => failed(&headers, e),
    }
}

/// `GET /sso/{slug}/saml/start`: a link (not a form) may go straight to the provider.
pub(crate) async fn saml_start(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    q: Result<Query<StartQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let next = safe_next(q.ok().and_then(|Query(q)| q.next).as_deref()).to_owned();
    let started = s.app.start_saml(&slug, &next).await;
    redirect_to_provider(&s, &headers, started)
}

#[derive(Deserialize)]
pub(crate) struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// `POST /sso/{slug}/saml/acs`, the assertion consumer service: the provider's page posts the
/// response here from its own site, so no cookie of ours comes with it (`SameSite=Lax`) and no
/// anti-CSRF token applies: the response answers one single-use request of ours. Once
/// verified, the browser is sent on to finish where its cookie is seen.
pub(crate) async fn saml_acs(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    form: Result<axum::Form<AcsForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(axum::Form(form)) = form else {
        return crate::ui::error_page(&headers, StatusCode::BAD_REQUEST);
    };
    let (Some(response), Some(relay_state)) = (form.saml_response, form.relay_state) else {
        return failed(
            &headers,
            AppError::Forbidden(
                "single sign-on failed: sign-ins must start here (the provider sent no \
                 RelayState, or no SAMLResponse)"
                    .into(),
            ),
        );
    };
    match s
        .app
        .accept_saml_response(&slug, &response, &relay_state)
        .await
    {
        Ok(token) => {
            // The token is URL-safe base64; the slug matched a workspace.
            Redirect::to(&format!("/sso/{slug}/saml/finish?token={token}")).into_response()
        }
        Err(e) => failed(&headers, e),
    }
}

#[derive(Deserialize)]
pub(crate) struct FinishQuery {
    token: Option<String>,
}

/// `GET /sso/{slug}/saml/finish`: the verified sign-in ends in the browser that started it.
pub(crate) async fn saml_finish(
    State(s): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    Path(slug): Path<String>,
    q: Result<Query<FinishQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(token) = q.ok().and_then(|Query(q)| q.token) else {
        return crate::ui::error_page(&headers, StatusCode::BAD_REQUEST);
    };
    let current = match session_cookie(&headers) {
        Some(cookie) => s.app.authenticate(&Credential::Session(cookie)).await.ok(),
        None => None,
    };
    let browser = cookie(&headers, sso_cookie(&s));
    let done = s
        .app
        .finish_saml(&slug, &token, browser.as_deref(), current.as_ref(), &client)
        .await;
    let response = match done {
        Ok((login, next)) => start_session(&s, &headers, &login, safe_next(Some(&next))),
        Err(e) => failed(&headers, e),
    };
    with_sso_cookie(&s, response, "", 0)
}

/// `GET /sso/{slug}/saml/slo`, the single logout service (HTTP-Redirect binding): the
/// provider's answer to a logout started here, or its request to end this browser's session.
pub(crate) async fn saml_slo(
    State(s): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    Path(slug): Path<String>,
    uri: axum::http::Uri,
) -> Response {
    let query = uri.query().unwrap_or_default();
    let cookie = session_cookie(&headers);
    match s
        .app
        .saml_single_logout(&slug, query, cookie.as_deref(), &client)
        .await
    {
        Ok(out) => {
            let mut response = Redirect::to(&out.redirect).into_response();
            if out.signed_out {
                match crate::api::identity::session::session_cookie_header(&s, "", 0) {
                    Ok(clear) => {
                        response
                            .headers_mut()
                            .insert(axum::http::header::SET_COOKIE, clear);
                    }
                    Err(_) => {
                        return crate::ui::error_page(&headers, StatusCode::INTERNAL_SERVER_ERROR);
                    }
                }
            }
            response
        }
        Err(e) => failed(&headers, e),
    }
}
