//! A workspace's retention periods (LIF-03).

use axum::Json;
use axum::extract::State;
use ideaweave_domain::RetentionPolicy;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Ws};

/// How long this workspace keeps what it no longer needs, in days: activity data (where
/// requests came from, kept with audit events; default 90), deleted ideas and comments (still
/// restorable until then; default 30) and invitations that expired or were revoked (default 7).
/// Every member may read them.
#[utoipa::path(get, path = "/workspaces/{slug}/retention", tag = "workspace", params(("slug" = String, Path)),
    responses((status = 200, body = RetentionPolicy), (status = "4XX", body = ErrorBody)))]
pub async fn get_retention(
    State(s): State<AppState>,
    Ws(m): Ws,
) -> ApiResult<Json<RetentionPolicy>> {
    Ok(Json(s.app.retention_policy(&m).await?))
}

/// Set the workspace's retention periods (admins). Each is between 1 and 3650 days. The next
/// hourly run of the retention job applies them; data already past a shorter period goes then.
#[utoipa::path(put, path = "/workspaces/{slug}/retention", tag = "workspace", params(("slug" = String, Path)),
    request_body = RetentionPolicy,
    responses((status = 200, body = RetentionPolicy), (status = "4XX", body = ErrorBody)))]
pub async fn set_retention(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiJson(p): ApiJson<RetentionPolicy>,
) -> ApiResult<Json<RetentionPolicy>> {
    Ok(Json(s.app.set_retention_policy(&m, p).await?))
}
