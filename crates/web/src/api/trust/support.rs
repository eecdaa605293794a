//! Support access (SUP-01): workspace admins invite the operator's support staff for a scope
//! and a time, and revoke it; operator accounts list where they are invited.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ideaweave_app::{SupportGrantInput, SupportGrantView, SupportInvitationView};

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Caller, Ws};

/// The workspace's support invitations, newest first, live or not (admins).
#[utoipa::path(get, path = "/workspaces/{slug}/support-access", tag = "workspace",
    params(("slug" = String, Path)),
    responses((status = 200, body = Vec<SupportGrantView>), (status = "4XX", body = ErrorBody)))]
pub async fn list_support_grants(
    State(s): State<AppState>,
    Ws(m): Ws,
) -> ApiResult<Json<Vec<SupportGrantView>>> {
    Ok(Json(s.app.support_grants(&m).await?))
}

/// Invite the operator's support staff (admins, after a recent re-authentication): `read`
/// lets them look at everything an admin sees, `manage` also lets them fix settings, spaces
/// and content; for 1 to 168 hours. The operators are emailed; every request they make in the
/// workspace is recorded in its audit trail (`support.accessed`).
#[utoipa::path(post, path = "/workspaces/{slug}/support-access", tag = "workspace",
    params(("slug" = String, Path)), request_body = SupportGrantInput,
    responses((status = 201, body = SupportGrantView), (status = "4XX", body = ErrorBody)))]
pub async fn grant_support(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiJson(input): ApiJson<SupportGrantInput>,
) -> ApiResult<(StatusCode, Json<SupportGrantView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.grant_support(&m, input).await?),
    ))
}

/// End a live support invitation now (admins): support is refused from its next request.
#[utoipa::path(delete, path = "/workspaces/{slug}/support-access/{id}", tag = "workspace",
    params(("slug" = String, Path), ("id" = ideaweave_domain::SupportGrantId, Path)),
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn revoke_support(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, ideaweave_domain::SupportGrantId)>,
) -> ApiResult<StatusCode> {
    s.app.revoke_support(&m, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The workspaces that invite support now (operator accounts only).
#[utoipa::path(get, path = "/support/invitations", tag = "session",
    responses((status = 200, body = Vec<SupportInvitationView>), (status = "4XX", body = ErrorBody)))]
pub async fn support_invitations(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<Vec<SupportInvitationView>>> {
    Ok(Json(s.app.support_invitations(&p).await?))
}
