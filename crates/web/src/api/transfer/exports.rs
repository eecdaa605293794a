//! Workspace exports from the web (LIF-01): ask, watch the progress, download when ready.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use ideaweave_app::*;
use ideaweave_domain::ExportId;

use crate::AppState;
use crate::api::content::files::file_response;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiPath, Ws};

/// Start an export of the whole workspace (admins, signed-in sessions only): a background job
/// writes one archive of documented JSON plus every file, with a manifest of SHA-256 checksums
/// (`docs/export-format.md`). One export at a time; archives are kept for 7 days.
#[utoipa::path(post, path = "/workspaces/{slug}/exports", tag = "privacy", params(("slug" = String, Path)),
    responses((status = 202, body = ExportJobView), (status = "4XX", body = ErrorBody)))]
pub async fn request_export(
    State(s): State<AppState>,
    Ws(m): Ws,
) -> ApiResult<(StatusCode, Json<ExportJobView>)> {
    Ok((StatusCode::ACCEPTED, Json(s.app.request_export(&m).await?)))
}

/// The workspace's exports, newest first, with their progress (admins, sessions only).
#[utoipa::path(get, path = "/workspaces/{slug}/exports", tag = "privacy", params(("slug" = String, Path)),
    responses((status = 200, body = Vec<ExportJobView>), (status = "4XX", body = ErrorBody)))]
pub async fn list_exports(
    State(s): State<AppState>,
    Ws(m): Ws,
) -> ApiResult<Json<Vec<ExportJobView>>> {
    Ok(Json(s.app.export_jobs(&m).await?))
}

/// One export and its progress (admins, sessions only).
#[utoipa::path(get, path = "/workspaces/{slug}/exports/{export_id}", tag = "privacy",
    params(("slug" = String, Path), ("export_id" = ExportId, Path)),
    responses((status = 200, body = ExportJobView), (status = "4XX", body = ErrorBody)))]
pub async fn get_export(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, ExportId)>,
) -> ApiResult<Json<ExportJobView>> {
    Ok(Json(s.app.export_job(&m, id).await?))
}

/// Download a ready export's archive (admins, sessions only); 409 while it is being prepared.
/// Recorded as `workspace.exported`.
#[utoipa::path(get, path = "/workspaces/{slug}/exports/{export_id}/download", tag = "privacy",
    params(("slug" = String, Path), ("export_id" = ExportId, Path)),
    responses((status = 200, description = "The export archive (tar.gz)", content_type = "application/gzip"), (status = "4XX", body = ErrorBody)))]
pub async fn download_export(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, ExportId)>,
) -> ApiResult<Response> {
    Ok(file_response(s.app.download_export(&m, id).await?))
}
