//! Search across a workspace (COL-05).

use axum::Json;
use axum::extract::State;
use ideaweave_app::{SearchPage, SearchQuery, SearchSettings, SimilarIdeas, SimilarQuery};
use ideaweave_domain::{DiscussionId, IdeaId};

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Ws};

/// Search the workspace: ideas, comments, discussions, spaces, links, files and (for those who
/// may see the member list) members, limited to what the caller may see. A query that cannot
/// be read is a 422 naming the `q` field.
#[utoipa::path(get, path = "/workspaces/{slug}/search", tag = "search",
    params(("slug" = String, Path), SearchQuery),
    responses((status = 200, body = SearchPage), (status = "4XX", body = ErrorBody)))]
pub async fn search(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<SearchPage>> {
    Ok(Json(s.app.search_api(&m, &q).await?))
}

/// The workspace's search settings: the language whose word forms search understands.
#[utoipa::path(get, path = "/workspaces/{slug}/search/settings", tag = "search",
    params(("slug" = String, Path)),
    responses((status = 200, body = SearchSettings), (status = "4XX", body = ErrorBody)))]
pub async fn get_search_settings(
    State(s): State<AppState>,
    Ws(m): Ws,
) -> ApiResult<Json<SearchSettings>> {
    Ok(Json(s.app.search_settings(&m).await?))
}

/// Set the search language (admin): changing it rebuilds the workspace's index, and searches
/// use the old one until then.
#[utoipa::path(put, path = "/workspaces/{slug}/search/settings", tag = "search",
    params(("slug" = String, Path)), request_body = SearchSettings,
    responses((status = 200, body = SearchSettings), (status = "4XX", body = ErrorBody)))]
pub async fn set_search_settings(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiJson(input): ApiJson<SearchSettings>,
) -> ApiResult<Json<SearchSettings>> {
    Ok(Json(s.app.set_search_settings(&m, input).await?))
}

/// Ideas already posted that look like a title being written (at most five, most alike
/// first), so that a duplicate is found before it is posted; `discussion` keeps to one
/// discussion (where ideas can be merged) and `exclude` leaves out an idea whose duplicates are
/// sought. Only what the caller may see; ideas merged into another are left out. The first 500
/// characters of `title` are read.
#[utoipa::path(get, path = "/workspaces/{slug}/ideas/similar", tag = "search",
    params(("slug" = String, Path), SimilarQuery),
    responses((status = 200, body = SimilarIdeas), (status = "4XX", body = ErrorBody)))]
pub async fn similar_ideas(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiQuery(q): ApiQuery<SimilarQuery>,
) -> ApiResult<Json<SimilarIdeas>> {
    let items = s
        .app
        .similar_ideas(
            &m,
            &q.title,
            q.discussion.map(DiscussionId),
            q.exclude.map(IdeaId),
        )
        .await?;
    Ok(Json(SimilarIdeas { items }))
}
