//! The request desk (DSR-05, DSR-06): requests that reached the workspace by other channels or
//! through the operator, their deadlines, the actions that answer them, and the answers.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ideaweave_app::*;
use ideaweave_domain::RequestId;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Ws};

/// The workspace's requests: open ones by due date (each due one month after it arrived), then
/// answered ones (admins).
#[utoipa::path(get, path = "/workspaces/{slug}/requests", tag = "privacy", params(("slug" = String, Path)),
    responses((status = 200, body = Vec<RequestView>), (status = "4XX", body = ErrorBody)))]
pub async fn list_requests(
    State(s): State<AppState>,
    Ws(m): Ws,
) -> ApiResult<Json<Vec<RequestView>>> {
    Ok(Json(s.app.requests(&m).await?))
}

/// Record a request that reached the workspace by email, letter, phone, in person or otherwise:
/// access, rectification, erasure, restriction, portability, objection, a complaint, or an
/// authority's inquiry (admins). Its answer is due one month after `received_at`; admins are
/// reminded by email a week before and once it is overdue.
#[utoipa::path(post, path = "/workspaces/{slug}/requests", tag = "privacy", params(("slug" = String, Path)),
    request_body = RequestInput,
    responses((status = 201, body = RequestView), (status = "4XX", body = ErrorBody)))]
pub async fn record_request(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiJson(i): ApiJson<RequestInput>,
) -> ApiResult<(StatusCode, Json<RequestView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.record_request(&m, i).await?),
    ))
}

/// One request, with its answer and the Art. 19 notices sent (admins).
#[utoipa::path(get, path = "/workspaces/{slug}/requests/{request_id}", tag = "privacy",
    params(("slug" = String, Path), ("request_id" = RequestId, Path)),
    responses((status = 200, body = RequestView), (status = "4XX", body = ErrorBody)))]
pub async fn get_request(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, RequestId)>,
) -> ApiResult<Json<RequestView>> {
    Ok(Json(s.app.request(&m, id).await?))
}

/// Answer a request: `done` or `refused`, with what was done or why not (admins). For a
/// rectification, erasure or restriction carried out, `notify` lists the addresses of those the
/// data was shared with; each is emailed a notice (GDPR Art. 19) and the notice recorded.
#[utoipa::path(post, path = "/workspaces/{slug}/requests/{request_id}/resolution", tag = "privacy",
    params(("slug" = String, Path), ("request_id" = RequestId, Path)), request_body = ResolveInput,
    responses((status = 200, body = RequestView), (status = "4XX", body = ErrorBody)))]
pub async fn resolve_request(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, RequestId)>,
    ApiJson(i): ApiJson<ResolveInput>,
) -> ApiResult<Json<RequestView>> {
    Ok(Json(s.app.resolve_request(&m, id, i).await?))
}

/// Carry out an open erasure request naming a member: erases them in `mode` (admins, signed-in
/// sessions only; see `POST /workspaces/{slug}/people/{user_id}/erasure`). Answer the request
/// afterwards.
#[utoipa::path(post, path = "/workspaces/{slug}/requests/{request_id}/erasure", tag = "privacy",
    params(("slug" = String, Path), ("request_id" = RequestId, Path)), request_body = ErasureInput,
    responses((status = 200, body = ErasureReport), (status = "4XX", body = ErrorBody)))]
pub async fn erase_for_request(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, RequestId)>,
    ApiJson(i): ApiJson<ErasureInput>,
) -> ApiResult<Json<ErasureReport>> {
    Ok(Json(s.app.erase_for_request(&m, id, i).await?))
}

/// The data of the member an access or portability request names, in this workspace, as one
/// JSON document (format `ideaweave.workspace-personal-data/1`) to send them (admins). Recorded
/// as `request.data_prepared`.
#[utoipa::path(get, path = "/workspaces/{slug}/requests/{request_id}/personal-data", tag = "privacy",
    params(("slug" = String, Path), ("request_id" = RequestId, Path)),
    responses((status = 200, description = "The person's data in this workspace", content_type = "application/json"),
        (status = "4XX", body = ErrorBody)))]
pub async fn personal_data_for_request(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, RequestId)>,
) -> ApiResult<Response> {
    let data = s.app.personal_data_for_request(&m, id).await?;
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"personal-data.json\""),
        )],
        Json(data),
    )
        .into_response())
}
