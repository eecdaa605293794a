//! Ideaweave's HTTP layer.
//!
//! Routes, extractors and the mapping of errors to statuses. It knows the use cases of the `app`
//! crate and nothing of SQL. Every response carries security headers; every error has one shape
//! (see [`error`]).

pub mod api;
pub mod error;
pub mod extract;
mod json_guard;
pub mod ui;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ideaweave_app::App;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    pub app: App,
    /// Whether cookies carry the `Secure` attribute (the instance is served over HTTPS).
    pub secure_cookies: bool,
    /// Largest accepted JSON body.
    pub max_json_bytes: usize,
    /// How long a request body may stall (no data arriving) before the request is answered
    /// 408 (SEC-01).
    pub body_stall_timeout: Duration,
    /// The zone pages show times in for a reader who chose none and whose browser said none
    /// (`pages.time_zone`).
    pub time_zone: jiff::tz::TimeZone,
}

impl AppState {
    /// A signed-in reader's clock: their chosen zone, else their browser's, else the default.
    pub(crate) fn clock_for(
        &self,
        p: &ideaweave_app::Principal,
        headers: &axum::http::HeaderMap,
    ) -> ui::time::ReaderClock {
        let chosen = p.session.as_ref().and_then(|s| s.time_zone.as_deref());
        ui::time::ReaderClock {
            zone: ui::time::reader_zone(chosen, headers, &self.time_zone),
            now: self.app.now_ms(),
        }
    }
}

/// The response header that carries a request's id, so that a person reporting a failure can
/// quote it and the operator find its log lines.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Names every request in the log: a fresh request id (also sent back in
/// [`REQUEST_ID_HEADER`]), the method and the route template — never the path itself, which can
/// hold tokens, nor anything personal. The use cases' spans nest inside, so a failure's log
/// line says which request, which route and which use case.
async fn request_span(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use tracing::Instrument;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let id = id.get(..16).unwrap_or(&id).to_owned();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("-", |p| p.as_str())
        .to_owned();
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        route = %route,
        workspace = tracing::field::Empty
    );
    let mut response = next.run(request).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    response
}

/// Names the workspace a request acts in on its span, once the caller has entered it: a
/// workspace id (never a slug or a name, which the customer chose and may be personal), so a
/// log line of a failed request says whose data it concerned.
pub(crate) fn record_workspace(m: &ideaweave_app::Member) {
    tracing::Span::current().record("workspace", tracing::field::display(m.workspace));
}

/// How long a whole request may take before it is stopped and answered 408.
const REQUEST_DEADLINE: Duration = Duration::from_secs(60);

/// Stops a request that takes longer than [`REQUEST_DEADLINE`], except a file upload (see
/// [`is_file_upload`]). It runs inside the layers that add the security headers, so the 408
/// carries them and the usual JSON error.
async fn request_deadline(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if is_file_upload(&request) {
        return next.run(request).await;
    }
    match tokio::time::timeout(REQUEST_DEADLINE, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request took longer than 60 seconds and was stopped; try again",
        )
        .into_response(),
    }
}

/// Whether `request` is a file upload: a multipart `POST` to one of the routes that stream a
/// file to the file store as it arrives. Such an upload may rightly take longer than any fixed
/// deadline (1 GiB at 100 Mbit/s takes 90 s); it is bounded instead by the body stall timeout,
/// the size limit and the connections a client may hold. Any other request, whatever its
/// content type, keeps the deadline.
fn is_file_upload(request: &axum::extract::Request) -> bool {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.get(..19)
                .is_some_and(|t| t.eq_ignore_ascii_case("multipart/form-data"))
        });
    multipart
        && request.method() == axum::http::Method::POST
        && is_upload_path(request.uri().path())
}

/// The paths of the routes that take a file: an idea's attachments (API and page) and a new
/// idea with its files (page).
fn is_upload_path(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    matches!(
        parts.as_slice(),
        ["", "api", "v1", "workspaces", _, "ideas", _, "attachments"]
            | ["", "w", _, "ideas", _, "attachments"]
            | ["", "w", _, "discussions", _, "new"]
    )
}

/// The OpenAPI document of the API, generated from the handlers' annotations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_and_document().1
}

/// The API routes and their OpenAPI document, which names `/api/v1` as its server.
fn api_and_document() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (api, mut doc) = api::router().split_for_parts();
    doc.servers = Some(vec![utoipa::openapi::Server::new("/api/v1")]);
    api::finish_document(&mut doc);
    (api, doc)
}

async fn healthz() -> &'static str {
    "ok"
}

/// Prometheus metrics (OPS-01): the backups' state (BAK-04), read from the database so every
/// node reports the same. Figures only, no content or personal data.
async fn metrics(axum::extract::State(s): axum::extract::State<AppState>) -> Response {
    match s.app.backup_health().await {
        Ok(h) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            h.prometheus(s.app.now_ms()),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the metrics");
            axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

async fn readyz(axum::extract::State(s): axum::extract::State<AppState>) -> Response {
    match s.app.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn no_route() -> ApiError {
    ApiError::no_route()
}

/// Unknown paths: a JSON error under `/api/`, a friendly page elsewhere.
async fn no_page(uri: axum::http::Uri, headers: axum::http::HeaderMap) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::no_route().into_response()
    } else {
        ui::error_page(&headers, StatusCode::NOT_FOUND)
    }
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not accept that method",
    )
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "something went wrong on our side; it has been logged",
    )
    .into_response()
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let max_body = state
        .app
        .settings()
        .max_upload_bytes
        .max(state.max_json_bytes)
        + 64 * 1024;
    let (api, doc) = api_and_document();
    let doc_json = std::sync::Arc::new(serde_json::to_string(&doc).unwrap_or_else(|_| "{}".into()));
    let api = api
        .route(
            "/openapi.json",
            get(move || {
                let body = doc_json.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        body.as_str().to_owned(),
                    )
                }
            }),
        )
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed);
    let header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    // Served over TLS (cookies are then Secure): browsers must never fall back to plain HTTP.
    let hsts = state.secure_cookies.then(|| {
        header(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        )
    });
    Router::new()
        .merge(ui::router())
        .nest("/api/v1", api)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            record_denials,
        ))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(no_page)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(request_deadline))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            state.body_stall_timeout,
        ))
        .layer(header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header(header::REFERRER_POLICY, "no-referrer"))
        .layer(header(header::CACHE_CONTROL, "no-store"))
        .layer(header(
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ))
        .layer(header(
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ))
        .layer(tower::util::option_layer(hsts))
        // Its events go in the request span above, which names the route template: a span of its
        // own would carry the URI, and a URI can hold an invitation's or a reset link's secret.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|_: &axum::extract::Request| tracing::Span::current()),
        )
        .layer(axum::middleware::from_fn(request_span))
        .with_state(state)
}

/// Records in the workspace's audit trail every request to a workspace that a permission check
/// refused (AUD-01), after the response is made: the handlers mark such responses
/// ([`error::PermissionDenied`]), and this layer knows the route and the caller.
async fn record_denials(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::extract::FromRequestParts;
    let (mut parts, body) = request.into_parts();
    let slug = axum::extract::RawPathParams::from_request_parts(&mut parts, &state)
        .await
        .ok()
        .and_then(|p| {
            p.iter()
                .find(|(k, _)| *k == "slug")
                .map(|(_, v)| v.to_owned())
        });
    let line = extract::request_line(&parts);
    let client = extract::client_info(&parts);
    let credential = extract::credential(&parts.headers).ok().flatten();
    let response = next
        .run(axum::extract::Request::from_parts(parts, body))
        .await;
    if response
        .extensions()
        .get::<error::PermissionDenied>()
        .is_some()
        && let (Some(slug), Some(credential)) = (slug, credential)
        && let Err(e) = state
            .app
            .record_denied(&credential, &slug, &line, &client)
            .await
    {
        tracing::warn!(error = %e, "a refused request could not be recorded in the audit trail");
    }
    response
}

#[cfg(test)]
mod deadline_tests {
    use super::*;

    fn request(method: &str, path: &str, content_type: &str) -> axum::extract::Request {
        axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, content_type)
            .body(axum::body::Body::empty())
            .unwrap_or_default()
    }

    #[test]
    fn only_multipart_posts_to_the_upload_routes_go_without_the_deadline() {
        let multipart = "Multipart/Form-Data; boundary=x";
        for path in [
            "/api/v1/workspaces/acme/ideas/0190a1b2-0000-7000-8000-000000000001/attachments",
            "/w/acme/ideas/0190a1b2-0000-7000-8000-000000000001/attachments",
            "/w/acme/discussions/0190a1b2-0000-7000-8000-000000000001/new",
        ] {
            assert!(is_file_upload(&request("POST", path, multipart)), "{path}");
            assert!(!is_file_upload(&request("GET", path, multipart)), "{path}");
            assert!(
                !is_file_upload(&request("POST", path, "application/json")),
                "{path}"
            );
        }
        for path in [
            "/sign-in",
            "/account/security/second-factor",
            "/api/v1/workspaces/acme/ideas",
            "/w/acme/ideas/x/attachments/extra",
            "/w/acme/discussions/x/new/more",
        ] {
            assert!(!is_file_upload(&request("POST", path, multipart)), "{path}");
        }
    }
}
