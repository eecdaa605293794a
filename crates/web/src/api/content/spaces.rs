//! Spaces and discussions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ideaweave_app::*;
use ideaweave_domain::{DiscussionId, SpaceId, UserId};

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Ws};

/// The spaces you can see.
#[utoipa::path(get, path = "/workspaces/{slug}/spaces", tag = "spaces", params(("slug" = String, Path)),
    responses((status = 200, body = Vec<SpaceView>), (status = "4XX", body = ErrorBody)))]
pub async fn list_spaces(State(s): State<AppState>, Ws(m): Ws) -> ApiResult<Json<Vec<SpaceView>>> {
    Ok(Json(s.app.spaces(&m).await?))
}

/// Create a space (admin).
#[utoipa::path(post, path = "/workspaces/{slug}/spaces", tag = "spaces", params(("slug" = String, Path)), request_body = SpaceInput,
    responses((status = 201, body = SpaceView), (status = "4XX", body = ErrorBody)))]
pub async fn create_space(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiJson(i): ApiJson<SpaceInput>,
) -> ApiResult<(StatusCode, Json<SpaceView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_space(&m, i).await?)))
}

/// One space.
#[utoipa::path(get, path = "/workspaces/{slug}/spaces/{space_id}", tag = "spaces",
    params(("slug" = String, Path), ("space_id" = SpaceId, Path)), responses((status = 200, body = SpaceView), (status = "4XX", body = ErrorBody)))]
pub async fn get_space(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, SpaceId)>,
) -> ApiResult<Json<SpaceView>> {
    Ok(Json(s.app.space(&m, id).await?))
}

/// Change a space's name, description and visibility (admin).
#[utoipa::path(put, path = "/workspaces/{slug}/spaces/{space_id}", tag = "spaces",
    params(("slug" = String, Path), ("space_id" = SpaceId, Path)), request_body = SpaceInput,
    responses((status = 200, body = SpaceView), (status = "4XX", body = ErrorBody)))]
pub async fn update_space(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, SpaceId)>,
    ApiJson(i): ApiJson<SpaceInput>,
) -> ApiResult<Json<SpaceView>> {
    Ok(Json(s.app.update_space(&m, id, i).await?))
}

/// Delete a space with all its discussions and ideas (admin).
#[utoipa::path(delete, path = "/workspaces/{slug}/spaces/{space_id}", tag = "spaces",
    params(("slug" = String, Path), ("space_id" = SpaceId, Path)), responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn delete_space(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, SpaceId)>,
) -> ApiResult<StatusCode> {
    s.app.delete_space(&m, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Members listed in a space.
#[utoipa::path(get, path = "/workspaces/{slug}/spaces/{space_id}/members", tag = "spaces",
    params(("slug" = String, Path), ("space_id" = SpaceId, Path)), responses((status = 200, body = Vec<MemberView>), (status = "4XX", body = ErrorBody)))]
pub async fn list_space_members(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, SpaceId)>,
) -> ApiResult<Json<Vec<MemberView>>> {
    Ok(Json(s.app.space_members(&m, id).await?))
}

/// List a workspace member in a space (admin).
#[utoipa::path(post, path = "/workspaces/{slug}/spaces/{space_id}/members", tag = "spaces",
    params(("slug" = String, Path), ("space_id" = SpaceId, Path)), request_body = SpaceMemberInput,
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn add_space_member(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, SpaceId)>,
    ApiJson(i): ApiJson<SpaceMemberInput>,
) -> ApiResult<StatusCode> {
    s.app.add_space_member(&m, id, i).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unlist a member from a space (admin).
#[utoipa::path(delete, path = "/workspaces/{slug}/spaces/{space_id}/members/{user_id}", tag = "spaces",
    params(("slug" = String, Path), ("space_id" = SpaceId, Path), ("user_id" = UserId, Path)),
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn remove_space_member(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id, user)): ApiPath<(String, SpaceId, UserId)>,
) -> ApiResult<StatusCode> {
    s.app.remove_space_member(&m, id, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The discussions of a space.
#[utoipa::path(get, path = "/workspaces/{slug}/spaces/{space_id}/discussions", tag = "discussions",
    params(("slug" = String, Path), ("space_id" = SpaceId, Path)), responses((status = 200, body = Vec<DiscussionView>), (status = "4XX", body = ErrorBody)))]
pub async fn list_discussions(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, SpaceId)>,
) -> ApiResult<Json<Vec<DiscussionView>>> {
    Ok(Json(s.app.discussions(&m, id).await?))
}

/// Open a discussion (moderator).
#[utoipa::path(post, path = "/workspaces/{slug}/spaces/{space_id}/discussions", tag = "discussions",
    params(("slug" = String, Path), ("space_id" = SpaceId, Path)), request_body = DiscussionInput,
    responses((status = 201, body = DiscussionView), (status = "4XX", body = ErrorBody)))]
pub async fn create_discussion(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, SpaceId)>,
    ApiJson(i): ApiJson<DiscussionInput>,
) -> ApiResult<(StatusCode, Json<DiscussionView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_discussion(&m, id, i).await?),
    ))
}

/// One discussion.
#[utoipa::path(get, path = "/workspaces/{slug}/discussions/{discussion_id}", tag = "discussions",
    params(("slug" = String, Path), ("discussion_id" = DiscussionId, Path)), responses((status = 200, body = DiscussionView), (status = "4XX", body = ErrorBody)))]
pub async fn get_discussion(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, DiscussionId)>,
) -> ApiResult<Json<DiscussionView>> {
    Ok(Json(s.app.discussion(&m, id).await?))
}

/// Change a discussion: title, description, open/closed, deadline, criteria (moderator).
#[utoipa::path(patch, path = "/workspaces/{slug}/discussions/{discussion_id}", tag = "discussions",
    params(("slug" = String, Path), ("discussion_id" = DiscussionId, Path)), request_body = DiscussionPatch,
    responses((status = 200, body = DiscussionView), (status = "4XX", body = ErrorBody)))]
pub async fn update_discussion(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, DiscussionId)>,
    ApiJson(p): ApiJson<DiscussionPatch>,
) -> ApiResult<Json<DiscussionView>> {
    Ok(Json(s.app.update_discussion(&m, id, p).await?))
}

/// Delete a discussion with all its ideas, their comments, votes, ratings, files and links
/// (admin).
#[utoipa::path(delete, path = "/workspaces/{slug}/discussions/{discussion_id}", tag = "discussions",
    params(("slug" = String, Path), ("discussion_id" = DiscussionId, Path)), responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn delete_discussion(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, DiscussionId)>,
) -> ApiResult<StatusCode> {
    s.app.delete_discussion(&m, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
