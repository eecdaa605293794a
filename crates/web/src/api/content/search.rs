//! Search across a workspace (COL-05).

use axum::Json;
use axum::extract::State;
use ideaweave_app::{SearchPage, SearchQuery};

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiQuery, Ws};

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
