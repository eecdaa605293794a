//! Ideas: lists, pages, edits, stages, merges, votes and ratings.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ideaweave_app::*;
use ideaweave_domain::{CriterionId, DiscussionId, IdeaId};

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Ws};

/// A page of a discussion's ideas, sorted and filtered, with how many pass the filters.
#[utoipa::path(get, path = "/workspaces/{slug}/discussions/{discussion_id}/ideas", tag = "ideas",
    params(("slug" = String, Path), ("discussion_id" = DiscussionId, Path), IdeaListQuery),
    responses((status = 200, body = IdeaPage), (status = "4XX", body = ErrorBody)))]
pub async fn list_ideas(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, d)): ApiPath<(String, DiscussionId)>,
    ApiQuery(q): ApiQuery<IdeaListQuery>,
) -> ApiResult<Json<IdeaPage>> {
    Ok(Json(s.app.ideas(&m, d, q).await?))
}

/// Post an idea (member).
#[utoipa::path(post, path = "/workspaces/{slug}/discussions/{discussion_id}/ideas", tag = "ideas",
    params(("slug" = String, Path), ("discussion_id" = DiscussionId, Path)), request_body = IdeaInput,
    responses((status = 201, body = IdeaView), (status = "4XX", body = ErrorBody)))]
pub async fn create_idea(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, d)): ApiPath<(String, DiscussionId)>,
    ApiJson(i): ApiJson<IdeaInput>,
) -> ApiResult<(StatusCode, Json<IdeaView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_idea(&m, d, i).await?),
    ))
}

/// One idea with its ratings, files, links and merge history.
#[utoipa::path(get, path = "/workspaces/{slug}/ideas/{idea_id}", tag = "ideas",
    params(("slug" = String, Path), ("idea_id" = IdeaId, Path)), responses((status = 200, body = IdeaView), (status = "4XX", body = ErrorBody)))]
pub async fn get_idea(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, IdeaId)>,
) -> ApiResult<Json<IdeaView>> {
    Ok(Json(s.app.idea(&m, id).await?))
}

/// Edit an idea (author or moderator).
#[utoipa::path(patch, path = "/workspaces/{slug}/ideas/{idea_id}", tag = "ideas",
    params(("slug" = String, Path), ("idea_id" = IdeaId, Path)), request_body = IdeaPatch,
    responses((status = 200, body = IdeaView), (status = "4XX", body = ErrorBody)))]
pub async fn update_idea(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, IdeaId)>,
    ApiJson(p): ApiJson<IdeaPatch>,
) -> ApiResult<Json<IdeaView>> {
    Ok(Json(s.app.update_idea(&m, id, p).await?))
}

/// Delete an idea (author or moderator); moderators can restore it.
#[utoipa::path(delete, path = "/workspaces/{slug}/ideas/{idea_id}", tag = "ideas",
    params(("slug" = String, Path), ("idea_id" = IdeaId, Path)), responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn delete_idea(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, IdeaId)>,
) -> ApiResult<StatusCode> {
    s.app.delete_idea(&m, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Restore a deleted idea (moderator).
#[utoipa::path(post, path = "/workspaces/{slug}/ideas/{idea_id}/restore", tag = "ideas",
    params(("slug" = String, Path), ("idea_id" = IdeaId, Path)), responses((status = 200, body = IdeaView), (status = "4XX", body = ErrorBody)))]
pub async fn restore_idea(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, IdeaId)>,
) -> ApiResult<Json<IdeaView>> {
    Ok(Json(s.app.restore_idea(&m, id).await?))
}

/// Move an idea to another stage (moderator).
#[utoipa::path(put, path = "/workspaces/{slug}/ideas/{idea_id}/stage", tag = "ideas",
    params(("slug" = String, Path), ("idea_id" = IdeaId, Path)), request_body = StageInput,
    responses((status = 200, body = IdeaView), (status = "4XX", body = ErrorBody)))]
pub async fn set_stage(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, IdeaId)>,
    ApiJson(i): ApiJson<StageInput>,
) -> ApiResult<Json<IdeaView>> {
    Ok(Json(s.app.set_stage(&m, id, i).await?))
}

/// Merge this (duplicate) idea into another (moderator). Votes and comments move.
#[utoipa::path(post, path = "/workspaces/{slug}/ideas/{idea_id}/merge", tag = "ideas",
    params(("slug" = String, Path), ("idea_id" = IdeaId, Path)), request_body = MergeInput,
    responses((status = 200, body = IdeaView, description = "The idea merged into"), (status = "4XX", body = ErrorBody)))]
pub async fn merge_idea(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, IdeaId)>,
    ApiJson(i): ApiJson<MergeInput>,
) -> ApiResult<Json<IdeaView>> {
    Ok(Json(s.app.merge(&m, id, i).await?))
}

/// Undo the merge of this idea (moderator): its votes and comments come back.
#[utoipa::path(post, path = "/workspaces/{slug}/ideas/{idea_id}/unmerge", tag = "ideas",
    params(("slug" = String, Path), ("idea_id" = IdeaId, Path)), responses((status = 200, body = IdeaView), (status = "4XX", body = ErrorBody)))]
pub async fn unmerge_idea(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, IdeaId)>,
) -> ApiResult<Json<IdeaView>> {
    Ok(Json(s.app.unmerge(&m, id).await?))
}

/// Vote up or down, or change your vote (member).
#[utoipa::path(put, path = "/workspaces/{slug}/ideas/{idea_id}/vote", tag = "votes",
    params(("slug" = String, Path), ("idea_id" = IdeaId, Path)), request_body = VoteInput,
    responses((status = 200, body = VoteTally), (status = "4XX", body = ErrorBody)))]
pub async fn vote(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, IdeaId)>,
    ApiJson(i): ApiJson<VoteInput>,
) -> ApiResult<Json<VoteTally>> {
    Ok(Json(s.app.vote(&m, id, i).await?))
}

/// Withdraw your vote.
#[utoipa::path(delete, path = "/workspaces/{slug}/ideas/{idea_id}/vote", tag = "votes",
    params(("slug" = String, Path), ("idea_id" = IdeaId, Path)), responses((status = 200, body = VoteTally), (status = "4XX", body = ErrorBody)))]
pub async fn unvote(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, IdeaId)>,
) -> ApiResult<Json<VoteTally>> {
    Ok(Json(s.app.unvote(&m, id).await?))
}

/// Rate an idea 1 to 5 on a criterion of its discussion (member).
#[utoipa::path(put, path = "/workspaces/{slug}/ideas/{idea_id}/ratings/{criterion_id}", tag = "ratings",
    params(("slug" = String, Path), ("idea_id" = IdeaId, Path), ("criterion_id" = CriterionId, Path)), request_body = RatingInput,
    responses((status = 200, body = IdeaView), (status = "4XX", body = ErrorBody)))]
pub async fn rate(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id, c)): ApiPath<(String, IdeaId, CriterionId)>,
    ApiJson(i): ApiJson<RatingInput>,
) -> ApiResult<Json<IdeaView>> {
    Ok(Json(s.app.rate(&m, id, c, i).await?))
}

/// Withdraw your rating on a criterion.
#[utoipa::path(delete, path = "/workspaces/{slug}/ideas/{idea_id}/ratings/{criterion_id}", tag = "ratings",
    params(("slug" = String, Path), ("idea_id" = IdeaId, Path), ("criterion_id" = CriterionId, Path)),
    responses((status = 200, body = IdeaView), (status = "4XX", body = ErrorBody)))]
pub async fn unrate(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id, c)): ApiPath<(String, IdeaId, CriterionId)>,
) -> ApiResult<Json<IdeaView>> {
    Ok(Json(s.app.unrate(&m, id, c).await?))
}
