//! The server-rendered web UI: askama templates, one stylesheet, and htmx (vendored, served
//! from this origin) for in-place updates. Every page works without script: each htmx form is
//! a plain form too. Pages carry a strict Content-Security-Policy (no inline script or style);
//! every state-changing form carries the session's anti-CSRF token, and the sign-in form is
//! accepted only from this origin.

mod assets;
mod avatar;
pub(crate) mod content;
mod format;
mod guard;
mod i18n;
mod icon;
pub(crate) mod identity;
pub(crate) mod privacy;
pub(crate) mod time;
pub(crate) mod trust;
pub(crate) mod workspace;

use askama::Template;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ideaweave_app::AppError;

pub use i18n::Catalog;

use crate::AppState;

/// The policy of every page: script, styles and images from this origin only; no inline
/// script or style, no plugins, no framing, forms post only here.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The UI's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(identity::session::home))
        .route(
            "/sign-in",
            get(identity::session::sign_in_page).post(identity::session::sign_in),
        )
        .route("/sign-out", post(identity::session::sign_out))
        .route("/sso", get(identity::sso::start_form))
        .route("/sso/{slug}/oidc/start", get(identity::sso::start))
        .route("/sso/{slug}/oidc/callback", get(identity::sso::callback))
        .route(
            "/sso/{slug}/saml/metadata",
            get(identity::sso::saml_metadata),
        )
        .route("/sso/{slug}/saml/start", get(identity::sso::saml_start))
        .route("/sso/{slug}/saml/acs", post(identity::sso::saml_acs))
        .route("/sso/{slug}/saml/finish", get(identity::sso::saml_finish))
        .route("/sso/{slug}/saml/slo", get(identity::sso::saml_slo))
        .route("/account/sso/link", post(identity::sso::link))
        .route(
            "/invitations/{token}",
            get(identity::session::invitation_page).post(identity::session::accept_invitation),
        )
        .route(
            "/reset-password",
            get(identity::session::reset_request_page).post(identity::session::request_reset),
        )
        .route(
            "/reset-password/{token}",
            get(identity::session::reset_password_page).post(identity::session::reset_password),
        )
        .route(
            "/email-change/{token}",
            get(identity::session::email_change_page).post(identity::session::confirm_email_change),
        )
        .route(
            "/account",
            get(identity::account::account_page).post(identity::account::update_account),
        )
        .route(
            "/sign-in/second-factor",
            post(identity::security::second_factor),
        )
        .route(
            "/reauth",
            get(identity::security::reauth_page).post(identity::security::reauthenticate),
        )
        .route("/account/security", get(identity::security::security_page))
        .route(
            "/account/password",
            post(identity::security::change_password),
        )
        .route(
            "/account/security/totp",
            post(identity::security::start_totp),
        )
        .route(
            "/account/security/totp/confirm",
            post(identity::security::confirm_totp),
        )
        .route(
            "/account/security/totp/remove",
            post(identity::security::remove_totp),
        )
        .route(
            "/account/security/recovery-codes",
            post(identity::security::regenerate_codes),
        )
        .route(
            "/account/sessions/{id}/revoke",
            post(identity::security::revoke_session),
        )
        .route(
            "/account/passkeys/{id}/remove",
            post(identity::security::remove_passkey),
        )
        .route(
            "/account/sessions/revoke-others",
            post(identity::security::revoke_other_sessions),
        )
        .route("/account/email", post(identity::account::change_email))
        .route(
            "/account/time-zone",
            post(identity::account::update_time_zone),
        )
        .route(
            "/account/restriction",
            post(identity::account::update_restriction),
        )
        .route("/account/delete", post(identity::account::delete_account))
        .route(
            "/w/{slug}/notifications",
            post(identity::account::update_notifications),
        )
        .merge(content::router())
        .merge(workspace::manage::router())
        .merge(workspace::profile::router())
        .merge(identity::sign_in_setup::router())
        .merge(trust::audit::router())
        .merge(trust::support::router())
        .merge(privacy::desk::router())
        .route("/static/{file}", get(assets::serve))
}

/// What every page's frame shows: the language, who is signed in, the session's anti-CSRF
/// token for the forms, and the workspace navigation when inside one.
#[derive(Clone)]
pub(crate) struct Chrome {
    pub tr: &'static Catalog,
    pub signed_in: bool,
    pub csrf: String,
    pub ws: Option<WsNav>,
    /// The reader's zone and the time now, for the times a page shows.
    pub clock: time::ReaderClock,
}

/// The workspace part of the navigation.
#[derive(Clone)]
pub(crate) struct WsNav {
    pub slug: String,
    pub name: String,
    pub admin: bool,
    /// Whether the member list is open to this member (not to guests).
    pub members: bool,
    /// Which entry of the navigation is the current page.
    pub here: &'static str,
    /// The member's unread notifications (up to 100), for the bell.
    pub unread: i64,
}

impl WsNav {
    /// The bell's count as shown: the number, or "99+" beyond it.
    pub fn unread_shown(&self) -> String {
        format::badge_count(self.unread)
    }
}

impl Chrome {
    /// The frame of a page for someone signed out. Signed-out pages show no times (sign-in,
    /// invitations, errors), so their clock goes without the instance's default zone
    /// (`pages.time_zone`) and reads the system clock; a page that starts showing one should
    /// take its clock from `AppState::clock_for` instead.
    pub fn anonymous(headers: &HeaderMap) -> Self {
        Self {
            tr: Catalog::for_request(headers),
            signed_in: false,
            csrf: String::new(),
            ws: None,
            clock: time::ReaderClock {
                zone: time::reader_zone(None, headers, &jiff::tz::TimeZone::UTC),
                now: jiff::Timestamp::now().as_millisecond(),
            },
        }
    }

    /// A time to show relative ("3 hours ago"), its exact local time on hover.
    pub(crate) fn moment(&self, ms: i64) -> time::Moment {
        self.clock.moment(self.tr, ms)
    }

    /// The exact local time in the reader's zone and language.
    pub(crate) fn exact(&self, ms: i64) -> String {
        self.clock.exact(self.tr, ms)
    }
}

/// The URL the pages link a static file by (`app.css` → `/static/app.3f2a9c1b0d.css`).
pub fn asset_url(file: &str) -> &'static str {
    assets::url(file)
}

impl Chrome {
    /// The URL of a static file under its content-hashed name (`app.css` → `/static/app.….css`).
    pub(crate) fn asset(&self, file: &str) -> &'static str {
        assets::url(file)
    }

    /// An icon of the page's sprite, for templates (decorative: words stand beside it).
    pub(crate) fn icon(&self, name: &str) -> String {
        icon::markup(name)
    }

    /// A person's name, linking to their page for those who may see the member list (the page
    /// would refuse everyone else), for templates. Safe as markup: the name is escaped.
    pub(crate) fn person(&self, id: &ideaweave_domain::UserId, name: &str) -> String {
        match &self.ws {
            Some(nav) if nav.members => format!(
                "<a class=\"person\" href=\"/w/{}/people/{id}\">{}</a>",
                nav.slug,
                ideaweave_domain::markdown::escape_text(name)
            ),
            _ => ideaweave_domain::markdown::escape_text(name),
        }
    }

    /// A person's generated avatar (initials on a colour of their name), for templates:
    /// decorative, since their name is always written beside it. Safe as markup: initials are
    /// letters and digits only, and the colour a number.
    pub(crate) fn avatar(&self, name: &str) -> String {
        format!(
            "<span class=\"avatar a{}\" aria-hidden=\"true\">{}</span>",
            avatar::hue(name),
            avatar::initials(name)
        )
    }
}

/// Lets templates say `tr`, `csrf`, `ws` of the frame directly.
macro_rules! framed {
    ($($page:ty),* $(,)?) => {
        $(impl std::ops::Deref for $page {
            type Target = $crate::ui::Chrome;
            fn deref(&self) -> &$crate::ui::Chrome {
                &self.c
            }
        })*
    };
}
pub(crate) use framed;

/// Renders a page with its status and the page policy.
pub(crate) fn page(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => (
            status,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(PAGE_CSP),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page could not be rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    c: Chrome,
    title_key: &'static str,
    text_key: &'static str,
    detail: Option<String>,
    /// Where to go to put it right, and the link's words (re-authenticate, set up two factors).
    remedy: Option<(&'static str, &'static str)>,
}
framed!(ErrorPage);

/// A friendly error page that says nothing about what exists.
pub fn error_page(headers: &HeaderMap, status: StatusCode) -> Response {
    error_page_with(Chrome::anonymous(headers), status, None, None)
}

pub(crate) fn error_page_with(
    c: Chrome,
    status: StatusCode,
    detail: Option<String>,
    remedy: Option<(&'static str, &'static str)>,
) -> Response {
    let (title_key, text_key) = match status {
        StatusCode::NOT_FOUND => ("error.not_found.title", "error.not_found.text"),
        StatusCode::FORBIDDEN => ("error.forbidden.title", "error.forbidden.text"),
        StatusCode::CONFLICT => ("error.conflict.title", "error.conflict.text"),
        StatusCode::TOO_MANY_REQUESTS => ("error.too_many.title", "error.too_many.text"),
        s if s.is_client_error() => ("error.bad_request.title", "error.bad_request.text"),
        _ => ("error.internal.title", "error.internal.text"),
    };
    page(
        status,
        &ErrorPage {
            c,
            title_key,
            text_key,
            detail,
            remedy,
        },
    )
}

/// A page that could not be shown: the frame it happened in and the use case's error. Its
/// response is the error page of the one mapping ([`crate::error::meaning`]), so a handler
/// writes `use_case().await.or_page(&w.c)?` and the plumbing lives here once.
/// (Boxed: a page's `Result` stays one pointer wide on the happy path.)
pub(crate) struct PageError(Box<(Chrome, AppError)>);

impl PageError {
    /// The error `e` of a use case, shown in frame `c`.
    pub(crate) fn new(c: Chrome, e: AppError) -> Self {
        Self(Box::new((c, e)))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (c, e) = *self.0;
        app_error(c, e)
    }
}

/// What page handlers return.
pub(crate) type PageResult = Result<Response, PageError>;

/// `result.or_page(&w.c)?`: a use case's error becomes the error page in this page's frame.
pub(crate) trait OrPage<T> {
    /// The value, or the error page in frame `c`.
    fn or_page(self, c: &Chrome) -> Result<T, PageError>;
}

impl<T> OrPage<T> for Result<T, AppError> {
    fn or_page(self, c: &Chrome) -> Result<T, PageError> {
        self.map_err(|e| PageError::new(c.clone(), e))
    }
}

/// The page for an error of a use case, in the frame of the page it happened on.
pub(crate) fn app_error(c: Chrome, e: AppError) -> Response {
    if matches!(e, AppError::Unauthenticated) {
        return Redirect::to("/sign-in").into_response();
    }
    let remedy = match e {
        AppError::ReauthenticationRequired => Some(("/reauth", "reauth.title")),
        AppError::StrongerSignInRequired(_) => Some(("/account/security", "security.title")),
        _ => None,
    };
    crate::error::report(&e);
    let crate::error::Meaning { status, shown, .. } = crate::error::meaning(&e);
    let denied = matches!(e, AppError::Forbidden(_));
    let detail = shown.then(|| c.tr.input_problem(&e));
    let mut response = error_page_with(c, status, detail, remedy);
    if denied {
        response
            .extensions_mut()
            .insert(crate::error::PermissionDenied);
    }
    response
}

/// The message to show on the form a refused input came from, or the error page when the
/// error is not about the visitor's input: `Err(e) => { let p = form_problem(e, &w.c)?; … }`.
pub(crate) fn form_problem(e: AppError, c: &Chrome) -> Result<String, PageError> {
    match input_problem(&e, c.tr) {
        Some(p) => Ok(p),
        None => Err(PageError::new(c.clone(), e)),
    }
}

/// The refusal to show on the form `e` came from, or the error page when `e` is not about the
/// visitor's input: `Err(e) => { let r = form_refusal(e, &w.c)?; … }`.
pub(crate) fn form_refusal(e: AppError, c: &Chrome) -> Result<Refusal, PageError> {
    match Refusal::of(&e, c.tr) {
        Some(r) => Ok(r),
        None => Err(PageError::new(c.clone(), e)),
    }
}

/// A refused input as a form shows it: at its field when the form has a field by that name
/// (marked `aria-invalid`, the message named by `aria-describedby`), otherwise above the form.
/// The message is in the reader's language; at its field it goes without the field's name,
/// which the label beside it says.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    field: Option<String>,
    at_field: String,
    whole: String,
}

impl Refusal {
    /// A refusal that belongs to no field.
    pub(crate) fn general(text: String) -> Self {
        Self {
            field: None,
            at_field: text.clone(),
            whole: text,
        }
    }

    /// A refusal about `field`, found by the page itself before any use case ran.
    pub(crate) fn at_field(field: &str, text: String) -> Self {
        Self {
            field: Some(field.to_owned()),
            at_field: text.clone(),
            whole: text,
        }
    }

    /// The refusal `e` is, or `None` when `e` is not about the visitor's input (it becomes the
    /// error page instead).
    pub(crate) fn of(e: &AppError, tr: &Catalog) -> Option<Self> {
        let whole = input_problem(e, tr)?;
        Some(match e {
            AppError::Invalid(v) => Self {
                field: Some(v.field.clone()),
                at_field: tr.problem(&v.message),
                whole,
            },
            _ => Self::general(whole),
        })
    }

    /// The message for `field`, when this refusal is about it.
    pub(crate) fn at(&self, field: &str) -> Option<&str> {
        (self.field.as_deref() == Some(field)).then_some(self.at_field.as_str())
    }

    /// The message to show above a form whose fields are `fields`: a refusal about none of
    /// them (with the field's name, since no label stands beside it).
    pub(crate) fn above(&self, fields: &[&str]) -> Option<&str> {
        match &self.field {
            Some(f) if fields.contains(&f.as_str()) => None,
            _ => Some(self.whole.as_str()),
        }
    }
}

/// A form's refusal, if any, as its template asks about it: the message at a field, or the
/// one above the form when it concerns none of the form's fields.
#[derive(Debug, Clone, Default)]
pub(crate) struct Problem(pub(crate) Option<Refusal>);

impl Problem {
    /// The message at `field`, when the refusal is about it.
    pub(crate) fn at(&self, field: &str) -> Option<&str> {
        self.0.as_ref().and_then(|r| r.at(field))
    }

    /// The message above a form whose fields are `fields`.
    pub(crate) fn above(&self, fields: &[&str]) -> Option<&str> {
        self.0.as_ref().and_then(|r| r.above(fields))
    }

    pub(crate) fn is_some(&self) -> bool {
        self.0.is_some()
    }

    /// The page's status: 400 when it shows a refusal.
    pub(crate) fn status(&self) -> StatusCode {
        if self.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        }
    }
}

/// A message about the visitor's own input to show on the form it came from, or `None` when
/// the error must become an error page instead.
pub(crate) fn input_problem(e: &AppError, tr: &Catalog) -> Option<String> {
    crate::error::meaning(e).shown.then(|| tr.input_problem(e))
}
