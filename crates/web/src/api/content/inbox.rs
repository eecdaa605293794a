//! The notifications centre and following (COL-04): your in-app notifications in a workspace,
//! and the ideas and discussions you follow.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ideaweave_app::{ActivityView, FollowState, Inbox, InboxQuery};
use ideaweave_domain::{DiscussionId, IdeaId};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Ws};

/// Your notifications in this workspace, newest first, with the unread count. They are kept
/// whether or not the instance sends email; an item about an idea you can no longer see is
/// left out.
#[utoipa::path(get, path = "/workspaces/{slug}/me/inbox", tag = "notifications",
    params(("slug" = String, Path), InboxQuery),
    responses((status = 200, body = Inbox), (status = "4XX", body = ErrorBody)))]
pub async fn inbox(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> ApiResult<Json<Inbox>> {
    Ok(Json(s.app.inbox(&m, q).await?))
}

/// Mark one of your notifications read.
#[utoipa::path(post, path = "/workspaces/{slug}/me/inbox/{notification_id}/read", tag = "notifications",
    params(("slug" = String, Path), ("notification_id" = uuid::Uuid, Path)),
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn read_one(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, uuid::Uuid)>,
) -> ApiResult<StatusCode> {
    s.app.open_notification(&m, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How many notifications were marked read.
#[derive(Debug, Serialize, ToSchema)]
pub struct Marked {
    pub marked: u64,
}

/// Mark all your notifications in this workspace read.
#[utoipa::path(post, path = "/workspaces/{slug}/me/inbox/read", tag = "notifications",
    params(("slug" = String, Path)),
    responses((status = 200, body = Marked), (status = "4XX", body = ErrorBody)))]
pub async fn read_all(State(s): State<AppState>, Ws(m): Ws) -> ApiResult<Json<Marked>> {
    Ok(Json(Marked {
        marked: s.app.mark_all_notifications_read(&m).await?,
    }))
}

/// Whether you follow this idea.
#[utoipa::path(get, path = "/workspaces/{slug}/ideas/{idea_id}/follow", tag = "notifications",
    params(("slug" = String, Path), ("idea_id" = IdeaId, Path)),
    responses((status = 200, body = FollowState), (status = "4XX", body = ErrorBody)))]
pub async fn idea_follow(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, IdeaId)>,
) -> ApiResult<Json<FollowState>> {
    Ok(Json(s.app.idea_follow(&m, id).await?))
}

/// Follow an idea (`{"following": true}`) to be told of its comments and stage changes, or
/// stop following it.
#[utoipa::path(put, path = "/workspaces/{slug}/ideas/{idea_id}/follow", tag = "notifications",
    params(("slug" = String, Path), ("idea_id" = IdeaId, Path)), request_body = FollowState,
    responses((status = 200, body = FollowState), (status = "4XX", body = ErrorBody)))]
pub async fn set_idea_follow(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, IdeaId)>,
    ApiJson(to): ApiJson<FollowState>,
) -> ApiResult<Json<FollowState>> {
    Ok(Json(s.app.set_idea_follow(&m, id, to).await?))
}

/// Whether you follow this discussion.
#[utoipa::path(get, path = "/workspaces/{slug}/discussions/{discussion_id}/follow", tag = "notifications",
    params(("slug" = String, Path), ("discussion_id" = DiscussionId, Path)),
    responses((status = 200, body = FollowState), (status = "4XX", body = ErrorBody)))]
pub async fn discussion_follow(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, DiscussionId)>,
) -> ApiResult<Json<FollowState>> {
    Ok(Json(s.app.discussion_follow(&m, id).await?))
}

/// Follow a discussion (`{"following": true}`) to be told of its new ideas, or stop.
#[utoipa::path(put, path = "/workspaces/{slug}/discussions/{discussion_id}/follow", tag = "notifications",
    params(("slug" = String, Path), ("discussion_id" = DiscussionId, Path)), request_body = FollowState,
    responses((status = 200, body = FollowState), (status = "4XX", body = ErrorBody)))]
pub async fn set_discussion_follow(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, DiscussionId)>,
    ApiJson(to): ApiJson<FollowState>,
) -> ApiResult<Json<FollowState>> {
    Ok(Json(s.app.set_discussion_follow(&m, id, to).await?))
}

/// What happened in the workspace since you last marked it seen (a week back the first time):
/// new ideas and comments of others, as far as you may see them.
#[utoipa::path(get, path = "/workspaces/{slug}/me/activity", tag = "notifications",
    params(("slug" = String, Path)),
    responses((status = 200, body = ActivityView), (status = "4XX", body = ErrorBody)))]
pub async fn activity(State(s): State<AppState>, Ws(m): Ws) -> ApiResult<Json<ActivityView>> {
    Ok(Json(s.app.activity(&m).await?))
}

/// Mark the workspace's activity seen: the view starts from now.
#[utoipa::path(post, path = "/workspaces/{slug}/me/activity/seen", tag = "notifications",
    params(("slug" = String, Path)),
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn activity_seen(State(s): State<AppState>, Ws(m): Ws) -> ApiResult<StatusCode> {
    s.app.mark_activity_seen(&m, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
