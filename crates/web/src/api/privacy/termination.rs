//! Termination of a workspace (LIF-02): scheduled deletion with a grace period, and its
//! cancellation.

use axum::Json;
use axum::extract::State;
use ideaweave_app::*;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Ws};

/// Whether the workspace's deletion is scheduled, and when it happens (every member).
#[utoipa::path(get, path = "/workspaces/{slug}/termination", tag = "privacy", params(("slug" = String, Path)),
    responses((status = 200, body = TerminationView), (status = "4XX", body = ErrorBody)))]
pub async fn get_termination(
    State(s): State<AppState>,
    Ws(m): Ws,
) -> ApiResult<Json<TerminationView>> {
    Ok(Json(s.app.termination(&m).await?))
}

/// Ask for the workspace's deletion (owners, signed-in sessions; `confirm` is the slug). Every
/// member is emailed the date; after the grace period (14 days by default) every row, file and
/// key of the workspace is destroyed and the owners receive a signed deletion certificate. Any
/// owner may cancel until then.
#[utoipa::path(post, path = "/workspaces/{slug}/termination", tag = "privacy", params(("slug" = String, Path)),
    request_body = TerminationInput,
    responses((status = 200, body = TerminationView), (status = "4XX", body = ErrorBody)))]
pub async fn request_termination(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiJson(i): ApiJson<TerminationInput>,
) -> ApiResult<Json<TerminationView>> {
    Ok(Json(s.app.request_termination(&m, i).await?))
}

/// Cancel the scheduled deletion (owners, signed-in sessions).
#[utoipa::path(delete, path = "/workspaces/{slug}/termination", tag = "privacy", params(("slug" = String, Path)),
    responses((status = 200, body = TerminationView), (status = "4XX", body = ErrorBody)))]
pub async fn cancel_termination(
    State(s): State<AppState>,
    Ws(m): Ws,
) -> ApiResult<Json<TerminationView>> {
    Ok(Json(s.app.cancel_termination(&m).await?))
}
