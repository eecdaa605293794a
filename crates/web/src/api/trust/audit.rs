//! The audit trail over HTTP (AUD-02, AUD-04): workspace admins read, filter and export their
//! workspace's events with proofs; anyone may fetch the latest signed checkpoint, the verifier
//! key and consistency proofs, which reveal nothing but the log's size, so that witnesses and
//! auditors can follow the log without an account.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use ideaweave_app::*;
use serde::Deserialize;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery, Ws};

fn text(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// The workspace's audit events, newest first (admins).
#[utoipa::path(get, path = "/workspaces/{slug}/audit/events", tag = "audit",
    params(("slug" = String, Path), AuditQuery),
    responses((status = 200, body = AuditPage), (status = "4XX", body = ErrorBody)))]
pub async fn list_events(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    Ok(Json(s.app.workspace_audit(&m, q).await?))
}

/// A self-contained proof that one of the workspace's events is in the log (admins).
#[utoipa::path(get, path = "/workspaces/{slug}/audit/events/{index}/proof", tag = "audit",
    params(("slug" = String, Path), ("index" = u64, Path)),
    responses((status = 200, body = Object, description = "An inclusion proof file"), (status = "4XX", body = ErrorBody)))]
pub async fn event_proof(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, index)): ApiPath<(String, u64)>,
) -> ApiResult<Json<ProofFile>> {
    Ok(Json(s.app.workspace_audit_proof(&m, index).await?))
}

/// Every event of the workspace with the checkpoint that covers them (admins). The export is
/// itself recorded.
#[utoipa::path(get, path = "/workspaces/{slug}/audit/export", tag = "audit",
    params(("slug" = String, Path), ExportPage),
    responses((status = 200, body = AuditExport), (status = "4XX", body = ErrorBody)))]
pub async fn export(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiQuery(page): ApiQuery<ExportPage>,
) -> ApiResult<Response> {
    let export = s.app.export_workspace_audit(&m, &m.client, page).await?;
    let disposition =
        HeaderValue::from_str(&format!("attachment; filename=\"audit-{}.json\"", m.slug))
            .unwrap_or(HeaderValue::from_static("attachment"));
    Ok(([(header::CONTENT_DISPOSITION, disposition)], Json(export)).into_response())
}

/// The latest signed checkpoint, as a C2SP signed note (no sign-in needed).
#[utoipa::path(get, path = "/audit/checkpoint", tag = "audit", security(()),
    responses((status = 200, content_type = "text/plain", body = String), (status = "4XX", body = ErrorBody)))]
pub async fn checkpoint(State(s): State<AppState>) -> ApiResult<Response> {
    let note = match s.app.audit_checkpoint().await? {
        Some(n) => n,
        None => s.app.sign_audit_checkpoint().await?,
    };
    Ok(text(note))
}

/// The key checkpoints are signed with, as a signed-note verifier key (no sign-in needed).
#[utoipa::path(get, path = "/audit/key", tag = "audit", security(()),
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn verifier_key(State(s): State<AppState>) -> ApiResult<Response> {
    Ok(text(format!("{}\n", s.app.audit_verifier_key()?)))
}

/// Between which signed checkpoints a consistency proof is wanted.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The size of the older signed checkpoint.
    from: u64,
    /// The size of the newer signed checkpoint (the latest when absent).
    to: Option<u64>,
}

/// A self-contained proof that the log at one signed checkpoint is a prefix of the log at a
/// later one (no sign-in needed).
#[utoipa::path(get, path = "/audit/consistency", tag = "audit", security(()),
    params(ConsistencyQuery),
    responses((status = 200, body = Object, description = "A consistency proof file"), (status = "4XX", body = ErrorBody)))]
pub async fn consistency(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> ApiResult<Json<ProofFile>> {
    Ok(Json(s.app.audit_consistency_proof(q.from, q.to).await?))
}
