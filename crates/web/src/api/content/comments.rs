//! Threaded comments.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ideaweave_app::*;
use ideaweave_domain::{CommentId, IdeaId};

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Ws};

/// An idea's comments in posting order (replies carry `parent_id`).
#[utoipa::path(get, path = "/workspaces/{slug}/ideas/{idea_id}/comments", tag = "comments",
    params(("slug" = String, Path), ("idea_id" = IdeaId, Path), PageQuery),
    responses((status = 200, body = Page<CommentView>), (status = "4XX", body = ErrorBody)))]
pub async fn list_comments(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, IdeaId)>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<CommentView>>> {
    Ok(Json(s.app.comments(&m, id, q).await?))
}

/// Comment on an idea, or reply to a comment.
#[utoipa::path(post, path = "/workspaces/{slug}/ideas/{idea_id}/comments", tag = "comments",
    params(("slug" = String, Path), ("idea_id" = IdeaId, Path)), request_body = CommentInput,
    responses((status = 201, body = CommentView), (status = "4XX", body = ErrorBody)))]
pub async fn create_comment(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, IdeaId)>,
    ApiJson(i): ApiJson<CommentInput>,
) -> ApiResult<(StatusCode, Json<CommentView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_comment(&m, id, i).await?),
    ))
}

/// Edit your comment.
#[utoipa::path(patch, path = "/workspaces/{slug}/comments/{comment_id}", tag = "comments",
    params(("slug" = String, Path), ("comment_id" = CommentId, Path)), request_body = CommentPatch,
    responses((status = 200, body = CommentView), (status = "4XX", body = ErrorBody)))]
pub async fn update_comment(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, CommentId)>,
    ApiJson(p): ApiJson<CommentPatch>,
) -> ApiResult<Json<CommentView>> {
    Ok(Json(s.app.update_comment(&m, id, p).await?))
}

/// Delete a comment (author or moderator); replies stay.
#[utoipa::path(delete, path = "/workspaces/{slug}/comments/{comment_id}", tag = "comments",
    params(("slug" = String, Path), ("comment_id" = CommentId, Path)), responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn delete_comment(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, CommentId)>,
) -> ApiResult<StatusCode> {
    s.app.delete_comment(&m, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A comment with every earlier text it had (moderators of its space).
#[utoipa::path(get, path = "/workspaces/{slug}/comments/{comment_id}/history", tag = "comments",
    params(("slug" = String, Path), ("comment_id" = CommentId, Path)),
    responses((status = 200, body = CommentHistoryView), (status = "4XX", body = ErrorBody)))]
pub async fn comment_history(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, CommentId)>,
) -> ApiResult<Json<CommentHistoryView>> {
    Ok(Json(s.app.comment_history(&m, id).await?))
}
