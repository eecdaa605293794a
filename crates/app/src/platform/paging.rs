//! Paging shared by every list: a page of results and the cursor for the next one.
//!
//! Plain, serialisable views with an OpenAPI schema each. Inputs refuse unknown fields so that a
//! misspelt field is an error, not a silent no-op.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A page of results and the cursor for the next one.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page from rows fetched with one row more than `limit` (keyset pagination): the extra
    /// row only tells that a next page exists, and the cursor points after the last row kept.
    pub(crate) fn from_rows_plus_one<R>(
        mut rows: Vec<R>,
        limit: u32,
        cursor: impl FnOnce(&R) -> String,
        item: impl FnMut(R) -> crate::AppResult<T>,
    ) -> crate::AppResult<Self> {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(cursor) } else { None };
        let items = rows
            .into_iter()
            .map(item)
            .collect::<crate::AppResult<Vec<T>>>()?;
        Ok(Page { items, next_cursor })
    }
}

/// A simple page request.
#[derive(Debug, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 25, comments default 100).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}
