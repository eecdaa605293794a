//! The workspace, its settings, members, invitations and API tokens.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ideaweave_app::*;
use ideaweave_domain::{CriterionId, InvitationId, StageId, TokenId, UserId};

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Ws};

/// The workspace with its stages and rating criteria.
#[utoipa::path(get, path = "/workspaces/{slug}", tag = "workspace", params(("slug" = String, Path)),
    responses((status = 200, body = WorkspaceView), (status = "4XX", body = ErrorBody)))]
pub async fn get_workspace(State(s): State<AppState>, Ws(m): Ws) -> ApiResult<Json<WorkspaceView>> {
    Ok(Json(s.app.workspace(&m).await?))
}

/// Rename the workspace (admin).
#[utoipa::path(patch, path = "/workspaces/{slug}", tag = "workspace", params(("slug" = String, Path)), request_body = WorkspacePatch,
    responses((status = 200, body = WorkspaceView), (status = "4XX", body = ErrorBody)))]
pub async fn rename_workspace(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiJson(p): ApiJson<WorkspacePatch>,
) -> ApiResult<Json<WorkspaceView>> {
    Ok(Json(s.app.rename_workspace(&m, p).await?))
}

/// Add a stage to the idea pipeline (admin).
#[utoipa::path(post, path = "/workspaces/{slug}/stages", tag = "workspace", params(("slug" = String, Path)), request_body = NamedItemInput,
    responses((status = 201, body = StageView), (status = "4XX", body = ErrorBody)))]
pub async fn create_stage(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiJson(i): ApiJson<NamedItemInput>,
) -> ApiResult<(StatusCode, Json<StageView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_stage(&m, i).await?)))
}

/// Rename or move a stage (admin).
#[utoipa::path(patch, path = "/workspaces/{slug}/stages/{stage_id}", tag = "workspace",
    params(("slug" = String, Path), ("stage_id" = StageId, Path)), request_body = NamedItemInput,
    responses((status = 200, body = StageView), (status = "4XX", body = ErrorBody)))]
pub async fn update_stage(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, StageId)>,
    ApiJson(i): ApiJson<NamedItemInput>,
) -> ApiResult<Json<StageView>> {
    Ok(Json(s.app.update_stage(&m, id, i).await?))
}

/// Delete a stage no idea is in (admin).
#[utoipa::path(delete, path = "/workspaces/{slug}/stages/{stage_id}", tag = "workspace",
    params(("slug" = String, Path), ("stage_id" = StageId, Path)), responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn delete_stage(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, StageId)>,
) -> ApiResult<StatusCode> {
    s.app.delete_stage(&m, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add a rating criterion (admin).
#[utoipa::path(post, path = "/workspaces/{slug}/criteria", tag = "workspace", params(("slug" = String, Path)), request_body = NamedItemInput,
    responses((status = 201, body = CriterionView), (status = "4XX", body = ErrorBody)))]
pub async fn create_criterion(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiJson(i): ApiJson<NamedItemInput>,
) -> ApiResult<(StatusCode, Json<CriterionView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_criterion(&m, i).await?),
    ))
}

/// Rename or move a rating criterion (admin).
#[utoipa::path(patch, path = "/workspaces/{slug}/criteria/{criterion_id}", tag = "workspace",
    params(("slug" = String, Path), ("criterion_id" = CriterionId, Path)), request_body = NamedItemInput,
    responses((status = 200, body = CriterionView), (status = "4XX", body = ErrorBody)))]
pub async fn update_criterion(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, CriterionId)>,
    ApiJson(i): ApiJson<NamedItemInput>,
) -> ApiResult<Json<CriterionView>> {
    Ok(Json(s.app.update_criterion(&m, id, i).await?))
}

/// Delete a rating criterion and its ratings (admin).
#[utoipa::path(delete, path = "/workspaces/{slug}/criteria/{criterion_id}", tag = "workspace",
    params(("slug" = String, Path), ("criterion_id" = CriterionId, Path)), responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn delete_criterion(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, CriterionId)>,
) -> ApiResult<StatusCode> {
    s.app.delete_criterion(&m, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Members of the workspace (not guests). Email addresses are shown to admins only.
#[utoipa::path(get, path = "/workspaces/{slug}/members", tag = "members", params(("slug" = String, Path), PageQuery),
    responses((status = 200, body = Page<MemberView>), (status = "4XX", body = ErrorBody)))]
pub async fn list_members(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<MemberView>>> {
    Ok(Json(s.app.members(&m, q).await?))
}

/// Change a member's role (admin; never above one's own).
#[utoipa::path(patch, path = "/workspaces/{slug}/members/{user_id}", tag = "members",
    params(("slug" = String, Path), ("user_id" = UserId, Path)), request_body = RoleInput,
    responses((status = 200, body = MemberView), (status = "4XX", body = ErrorBody)))]
pub async fn change_role(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, user)): ApiPath<(String, UserId)>,
    ApiJson(i): ApiJson<RoleInput>,
) -> ApiResult<Json<MemberView>> {
    Ok(Json(s.app.change_role(&m, user, i).await?))
}

/// Remove a member (admin), or leave (yourself). Access ends with the next request.
#[utoipa::path(delete, path = "/workspaces/{slug}/members/{user_id}", tag = "members",
    params(("slug" = String, Path), ("user_id" = UserId, Path)), responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn remove_member(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, user)): ApiPath<(String, UserId)>,
) -> ApiResult<StatusCode> {
    s.app.remove_member(&m, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A member's page: name, role, when they joined, and their latest ideas and comments that you
/// may see (members and up; guests do not see the member list).
#[utoipa::path(get, path = "/workspaces/{slug}/members/{user_id}/profile", tag = "members",
    params(("slug" = String, Path), ("user_id" = UserId, Path)),
    responses((status = 200, body = ProfileView), (status = "4XX", body = ErrorBody)))]
pub async fn profile(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, user)): ApiPath<(String, UserId)>,
) -> ApiResult<Json<ProfileView>> {
    Ok(Json(s.app.profile(&m, user).await?))
}

/// Pending invitations (admin).
#[utoipa::path(get, path = "/workspaces/{slug}/invitations", tag = "invitations", params(("slug" = String, Path)),
    responses((status = 200, body = Vec<InvitationView>), (status = "4XX", body = ErrorBody)))]
pub async fn list_invitations(
    State(s): State<AppState>,
    Ws(m): Ws,
) -> ApiResult<Json<Vec<InvitationView>>> {
    Ok(Json(s.app.invitations(&m).await?))
}

/// Invite someone by email (admin). The response carries the link, shown once.
#[utoipa::path(post, path = "/workspaces/{slug}/invitations", tag = "invitations", params(("slug" = String, Path)), request_body = InvitationInput,
    responses((status = 201, body = CreatedInvitation), (status = "4XX", body = ErrorBody)))]
pub async fn invite(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiJson(i): ApiJson<InvitationInput>,
) -> ApiResult<(StatusCode, Json<CreatedInvitation>)> {
    Ok((StatusCode::CREATED, Json(s.app.invite(&m, i).await?)))
}

/// Revoke a pending invitation (admin).
#[utoipa::path(delete, path = "/workspaces/{slug}/invitations/{invitation_id}", tag = "invitations",
    params(("slug" = String, Path), ("invitation_id" = InvitationId, Path)), responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn revoke_invitation(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, InvitationId)>,
) -> ApiResult<StatusCode> {
    s.app.revoke_invitation(&m, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Your API tokens in this workspace.
#[utoipa::path(get, path = "/workspaces/{slug}/tokens", tag = "tokens", params(("slug" = String, Path)),
    responses((status = 200, body = Vec<TokenView>), (status = "4XX", body = ErrorBody)))]
pub async fn list_tokens(State(s): State<AppState>, Ws(m): Ws) -> ApiResult<Json<Vec<TokenView>>> {
    Ok(Json(s.app.tokens(&m).await?))
}

/// Create an API token (signed-in sessions only). The secret is shown once.
#[utoipa::path(post, path = "/workspaces/{slug}/tokens", tag = "tokens", params(("slug" = String, Path)), request_body = TokenInput,
    responses((status = 201, body = CreatedToken), (status = "4XX", body = ErrorBody)))]
pub async fn create_token(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiJson(i): ApiJson<TokenInput>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_token(&m, i).await?)))
}

/// Revoke one of your tokens; it fails from the next request on.
#[utoipa::path(delete, path = "/workspaces/{slug}/tokens/{token_id}", tag = "tokens",
    params(("slug" = String, Path), ("token_id" = TokenId, Path)), responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn revoke_token(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, TokenId)>,
) -> ApiResult<StatusCode> {
    s.app.revoke_token(&m, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
