//! Cursor pagination and the sort orders of idea lists.
//!
//! A cursor is an opaque, URL-safe token that records the sort key of the last item a client saw.
//! Keyset pagination keeps every page as cheap as the first however deep a client pages, and
//! stays stable while new ideas arrive.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ValidationError;

/// How an idea list is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IdeaSort {
    /// Highest net votes first.
    #[default]
    Top,
    /// Most recently posted first.
    Newest,
    /// Hot score first: votes weighed against age.
    Trending,
}

/// Page size bounds.
pub const DEFAULT_LIMIT: u32 = 25;
/// Largest page a client may ask for.
pub const MAX_LIMIT: u32 = 100;

/// Checks a requested page size.
pub fn page_limit(requested: Option<u32>) -> Result<u32, ValidationError> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ValidationError::new(
            "limit",
            format!("must be from 1 to {MAX_LIMIT} (got {n})"),
        )),
    }
}

/// The position after the last item of a page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// The sort this cursor belongs to; a cursor is refused under another sort.
    #[serde(rename = "s")]
    pub sort: IdeaSort,
    /// The numeric sort key of the last item (score, hot score; unused for newest).
    #[serde(rename = "k")]
    pub key: f64,
    /// The id of the last item, the tie-breaker.
    #[serde(rename = "i")]
    pub id: Uuid,
}

impl Cursor {
    /// The opaque token.
    pub fn encode(&self) -> String {
        // Serialising this plain struct cannot fail.
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Reads a token given back by a client, for a list sorted by `sort`.
    pub fn decode(token: &str, sort: IdeaSort) -> Result<Self, ValidationError> {
        let bad = || {
            ValidationError::new(
                "cursor",
                "is not a cursor returned by this list; start again without it",
            )
        };
        if token.len() > 200 {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
        let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if c.sort != sort || !c.key.is_finite() {
            return Err(bad());
        }
        Ok(c)
    }
}

/// A token for simple id-ordered lists (comments, members): the last id seen.
pub fn encode_id_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// Reads an id cursor.
pub fn decode_id_cursor(token: &str) -> Result<Uuid, ValidationError> {
    let bad = || {
        ValidationError::new(
            "cursor",
            "is not a cursor returned by this list; start again without it",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    Uuid::from_slice(&bytes).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor {
            sort: IdeaSort::Top,
            key: 12.0,
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&c.encode(), IdeaSort::Top).unwrap(), c);
        assert!(Cursor::decode(&c.encode(), IdeaSort::Newest).is_err());
        assert!(Cursor::decode("not-base64!!", IdeaSort::Top).is_err());
        assert!(Cursor::decode("e30", IdeaSort::Top).is_err());
        assert!(decode_id_cursor("AAAA").is_err());
    }

    #[test]
    fn limits() {
        assert_eq!(page_limit(None).unwrap(), 25);
        assert!(page_limit(Some(0)).is_err());
        assert!(page_limit(Some(101)).is_err());
    }
}
