//! Who is asking, for pages: the signed-in person (or a trip to the sign-in page) and, under
//! `/w/{slug}`, their membership. Only the session cookie counts here: API tokens are for the
//! API, and a page never acts on one.

use crate::ui::time::{ReaderClock, reader_zone};
use axum::extract::{FromRef, FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use ideaweave_app::{AppError, Credential, Entered, Member, Principal, WorkspaceView};
use ideaweave_domain::Role;

use super::{Catalog, Chrome, WsNav, app_error, error_page};
use crate::AppState;
use crate::extract::{client_info, constant_time_eq, session_cookie};

/// A signed-in visitor, with the frame of their pages.
pub(crate) struct Visitor {
    pub p: Principal,
    pub c: Chrome,
}

/// Where to send someone who must sign in first: back here afterwards, for a page they asked
/// for; home for anything else.
fn to_sign_in(parts: &Parts) -> Response {
    let mut location = "/sign-in".to_owned();
    if parts.method == Method::GET {
        let target = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        if target != "/" {
            location = format!("/sign-in?next={}", super::format::url_encode(target));
        }
    }
    // An in-place update (htmx) would follow a redirect itself and swap the sign-in page, which
    // has none of the part it updates, in place of that part: it is told to go there instead.
    if from_htmx(&parts.headers) {
        return (StatusCode::OK, [("hx-redirect", location)]).into_response();
    }
    Redirect::to(&location).into_response()
}

impl<S> FromRequestParts<S> for Visitor
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let s = AppState::from_ref(state);
        let Some(cookie) = session_cookie(&parts.headers) else {
            return Err(to_sign_in(parts));
        };
        let mut p = match s.app.authenticate(&Credential::Session(cookie)).await {
            Ok(p) => p,
            Err(AppError::Unauthenticated) => return Err(to_sign_in(parts)),
            Err(e) => return Err(app_error(Chrome::anonymous(&parts.headers), e)),
        };
        p.client = client_info(parts);
        let c = Chrome {
            tr: Catalog::for_request(&parts.headers),
            signed_in: true,
            csrf: p.csrf.clone().unwrap_or_default(),
            ws: None,
            clock: s.clock_for(&p, &parts.headers),
        };
        Ok(Self { p, c })
    }
}

/// A signed-in member inside the workspace of the `{slug}` path parameter, with the
/// workspace (its name, stages and criteria) and the frame of its pages. A workspace that does
/// not exist and one the visitor is not a member of both get the same 404 page.
pub(crate) struct InWorkspace {
    /// The signed-in person (their session's facts: how they signed in, when last proved).
    pub p: Principal,
    pub m: Member,
    pub ws: WorkspaceView,
    pub c: Chrome,
}

impl InWorkspace {
    /// True for admins and owners, who see the workspace's administration.
    pub fn is_admin(&self) -> bool {
        self.m.role() >= Role::Admin
    }

    /// Marks which entry of the workspace navigation this page is.
    pub fn at(mut self, here: &'static str) -> Self {
        if let Some(nav) = &mut self.c.ws {
            nav.here = here;
        }
        self
    }
}

impl<S> FromRequestParts<S> for InWorkspace
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| error_page(&parts.headers, StatusCode::NOT_FOUND))?;
        let Some(slug) = params
            .iter()
            .find(|(k, _)| *k == "slug")
            .map(|(_, v)| v.to_owned())
        else {
            return Err(error_page(&parts.headers, StatusCode::NOT_FOUND));
        };
        let s = AppState::from_ref(state);
        let Some(cookie) = session_cookie(&parts.headers) else {
            return Err(to_sign_in(parts));
        };
        let tr = Catalog::for_request(&parts.headers);
        let Entered {
            principal: p,
            member: m,
            workspace: ws,
            unread,
        } = match s
            .app
            .enter_with_session(
                &cookie,
                &slug,
                client_info(parts),
                &crate::extract::request_line(parts),
            )
            .await
        {
            Ok(found) => {
                crate::record_workspace(&found.member);
                found
            }
            Err(AppError::Unauthenticated) => return Err(to_sign_in(parts)),
            Err(e) => {
                // Signed in, but not a member (or another failure): the error page in the
                // frame of someone signed in, whose sign-out form needs the session's token.
                let csrf = match s.app.authenticate(&Credential::Session(cookie)).await {
                    Ok(p) => p.csrf.unwrap_or_default(),
                    Err(_) => String::new(),
                };
                let c = Chrome {
                    tr,
                    signed_in: !csrf.is_empty(),
                    csrf,
                    ws: None,
                    clock: ReaderClock {
                        zone: reader_zone(None, &parts.headers, &s.time_zone),
                        now: s.app.now_ms(),
                    },
                };
                return Err(app_error(c, e));
            }
        };
        let c = Chrome {
            tr,
            signed_in: true,
            csrf: p.csrf.clone().unwrap_or_default(),
            ws: Some(WsNav {
                slug: ws.slug.clone(),
                name: ws.name.clone(),
                admin: m.role() >= Role::Admin,
                members: m.role() >= Role::Member,
                here: "",
                unread,
            }),
            clock: s.clock_for(&p, &parts.headers),
        };
        Ok(Self { p, m, ws, c })
    }
}

/// True when a form's `csrf` field is the session's anti-CSRF token.
pub(crate) fn csrf_ok(p_csrf: Option<&str>, sent: &str) -> bool {
    match p_csrf {
        Some(expected) if !expected.is_empty() => {
            constant_time_eq(expected.as_bytes(), sent.as_bytes())
        }
        _ => false,
    }
}

/// The 400 page for a form without the right anti-CSRF token (a stale page, or a post from
/// elsewhere).
pub(crate) fn stale_form(headers: &HeaderMap) -> Response {
    error_page(headers, StatusCode::BAD_REQUEST)
}

/// True when htmx sent the request: it wants the changed fragment, not a whole page.
pub(crate) fn from_htmx(headers: &HeaderMap) -> bool {
    headers.get("hx-request").is_some_and(|v| v == "true")
}

/// Largest urlencoded form a page accepts (a long idea body and then some).
const MAX_FORM_BYTES: usize = 512 * 1024;

/// A submitted urlencoded form, with repeated fields kept (multi-selects).
pub(crate) struct Fields(Vec<(String, String)>);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Fields {
    type Rejection = Response;
    async fn from_request(req: axum::extract::Request, _: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let bytes = axum::body::to_bytes(req.into_body(), MAX_FORM_BYTES)
            .await
            .map_err(|_| error_page(&headers, StatusCode::PAYLOAD_TOO_LARGE))?;
        Ok(Self(form_urlencoded::parse(&bytes).into_owned().collect()))
    }
}

impl Fields {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, or empty.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_owned()
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name` parsed as `T` (an id, a number), or `None` when absent or not one.
    pub fn parsed<T: serde::de::DeserializeOwned>(&self, name: &str) -> Option<T> {
        let v = self.get(name)?;
        serde_json::from_value(serde_json::Value::String(v.to_owned()))
            .ok()
            .or_else(|| serde_json::from_str(v).ok())
    }

    /// True when the form carries the session's anti-CSRF token.
    pub fn csrf_ok(&self, c: &Chrome) -> bool {
        csrf_ok(Some(&c.csrf), self.get("csrf").unwrap_or(""))
    }
}

/// The id in the path after the workspace slug; anything that is not an id is a 404 page.
pub(crate) struct Id<T>(pub T);

impl<S, T> FromRequestParts<S> for Id<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<(String, T)>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path((_, id))) => Ok(Self(id)),
            Err(_) => Err(error_page(&parts.headers, StatusCode::NOT_FOUND)),
        }
    }
}

/// A form posted by a member inside the workspace of the path, its anti-CSRF token already
/// checked: a handler that takes this cannot forget the check. A stale or foreign form gets
/// the 400 page.
pub(crate) struct WsForm {
    pub w: InWorkspace,
    pub f: Fields,
}

impl<S> axum::extract::FromRequest<S> for WsForm
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = Response;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let w = InWorkspace::from_request_parts(&mut parts, state).await?;
        let headers = parts.headers.clone();
        let f =
            Fields::from_request(axum::extract::Request::from_parts(parts, body), state).await?;
        if !f.csrf_ok(&w.c) {
            return Err(stale_form(&headers));
        }
        Ok(Self { w, f })
    }
}
