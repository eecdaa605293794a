//! What the search API accepts and returns (COL-05): plain, serialisable views with an
//! OpenAPI schema each.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    DEFAULT_SEARCH_LIMIT, Highlighted, SearchHit, SearchInput, SearchKind, SearchResults,
    SearchSort,
};
use ideaweave_domain::ValidationError;

use crate::{App, AppError, AppResult, Member};

/// How results are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SearchOrder {
    /// Best match first.
    #[default]
    Relevance,
    /// Newest first.
    Newest,
    /// Most up-voted first.
    Top,
}

/// A search: the query in the documented syntax (`docs/search.md`) and filters.
#[derive(Debug, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Words, `"phrases"`, `prefix*`, `-excluded` and `OR`; at most 256 characters.
    pub q: String,
    /// Only these kinds, comma-separated: idea, comment, discussion, space, link, file, member.
    pub kind: Option<String>,
    /// Only in this space.
    pub space: Option<Uuid>,
    /// Only in this discussion.
    pub discussion: Option<Uuid>,
    /// Only ideas in this stage.
    pub stage: Option<Uuid>,
    /// Only by this person.
    pub author: Option<Uuid>,
    /// Only ideas with this tag.
    pub tag: Option<String>,
    /// Only what was made at or after this time (Unix milliseconds).
    pub since: Option<i64>,
    /// Only what was made before this time (Unix milliseconds).
    pub until: Option<i64>,
    /// Deleted content instead of live content (moderators, in the spaces they moderate).
    pub deleted: Option<bool>,
    /// relevance (default), newest or top.
    pub sort: Option<SearchOrder>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size, 1 to 50 (default 20).
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
    /// The query is being typed: its last word also matches the start of longer words.
    pub typing: Option<bool>,
}

/// A piece of a text, and whether it matched the query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TextPiece {
    pub text: String,
    /// True for the words the query matched (shown highlighted).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub matched: bool,
}

/// One search result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchHitView {
    /// idea, comment, discussion, space, link, file or member.
    pub kind: String,
    pub id: Uuid,
    /// The idea it is or belongs to (ideas, comments, links, files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idea_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discussion_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub space_id: Option<Uuid>,
    /// Its title or name, in pieces.
    pub title: Vec<TextPiece>,
    /// The passage of its text that matched best, in pieces.
    pub snippet: Vec<TextPiece>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// An idea's net votes.
    pub votes: i64,
    /// True for deleted content (moderators asking for it).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// A page of search results.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchPage {
    pub items: Vec<SearchHitView>,
    /// Results in all, of the kinds asked for.
    pub total: u64,
    /// Results of each kind, whatever kinds were asked for.
    pub by_kind: BTreeMap<String, u64>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// False while the workspace's index is first built (results are then empty).
    pub ready: bool,
}

/// A highlighted text in pieces.
pub fn pieces(h: &Highlighted) -> Vec<TextPiece> {
    let mut out = Vec::new();
    let mut at = 0;
    for m in &h.marks {
        let (Some(before), Some(marked)) = (h.text.get(at..m.start), h.text.get(m.clone())) else {
            continue;
        };
        if !before.is_empty() {
            out.push(TextPiece {
                text: before.to_owned(),
                matched: false,
            });
        }
        out.push(TextPiece {
            text: marked.to_owned(),
            matched: true,
        });
        at = m.end;
    }
    if let Some(rest) = h.text.get(at..)
        && !rest.is_empty()
    {
        out.push(TextPiece {
            text: rest.to_owned(),
            matched: false,
        });
    }
    out
}

impl SearchQuery {
    /// The use case's input, or why the query string cannot be used.
    pub fn input(&self) -> AppResult<SearchInput> {
        let kinds = match self.kind.as_deref() {
            None | Some("") => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|k| {
                    k.trim()
                        .parse::<SearchKind>()
                        .map_err(|e| AppError::Invalid(ValidationError::new("kind", e)))
                })
                .collect::<AppResult<Vec<_>>>()?,
        };
        Ok(SearchInput {
            q: self.q.clone(),
            kinds,
            space: self.space,
            discussion: self.discussion,
            stage: self.stage,
            author: self.author,
            tag: self
                .tag
                .as_deref()
                .map(|t| t.trim().trim_start_matches('#').to_owned())
                .filter(|t| !t.is_empty()),
            from: self.since,
            until: self.until,
            deleted: self.deleted.unwrap_or(false),
            sort: match self.sort.unwrap_or_default() {
                SearchOrder::Relevance => SearchSort::Relevance,
                SearchOrder::Newest => SearchSort::Newest,
                SearchOrder::Top => SearchSort::Top,
            },
            cursor: self.cursor.clone(),
            limit: self.limit.unwrap_or(DEFAULT_SEARCH_LIMIT),
            as_you_type: self.typing.unwrap_or(false),
        })
    }
}

impl From<&SearchHit> for SearchHitView {
    fn from(h: &SearchHit) -> Self {
        Self {
            kind: h.kind.as_str().to_owned(),
            id: h.id,
            idea_id: h.idea,
            discussion_id: h.discussion,
            space_id: h.space,
            title: pieces(&h.title),
            snippet: pieces(&h.snippet),
            tags: h.tags.clone(),
            created_at: h.created_at,
            votes: h.votes,
            deleted: h.deleted,
        }
    }
}

impl From<&SearchResults> for SearchPage {
    fn from(r: &SearchResults) -> Self {
        Self {
            items: r.hits.iter().map(SearchHitView::from).collect(),
            total: r.total,
            by_kind: r
                .by_kind
                .iter()
                .map(|(k, n)| (k.as_str().to_owned(), *n))
                .collect(),
            next_cursor: r.next.clone(),
            ready: r.ready,
        }
    }
}

impl App {
    /// Searches for the API.
    pub async fn search_api(&self, m: &Member, q: &SearchQuery) -> AppResult<SearchPage> {
        let results = self.search(m, &q.input()?).await?;
        Ok(SearchPage::from(&results))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlighted_text_splits_into_pieces() {
        let h = Highlighted {
            text: "a canary sings".into(),
            marks: std::iter::once(2..8).collect(),
        };
        let p = pieces(&h);
        assert_eq!(
            p,
            vec![
                TextPiece {
                    text: "a ".into(),
                    matched: false
                },
                TextPiece {
                    text: "canary".into(),
                    matched: true
                },
                TextPiece {
                    text: " sings".into(),
                    matched: false
                },
            ]
        );
        // A range that does not fall on characters is skipped, not a panic.
        let h = Highlighted {
            text: "é".into(),
            marks: std::iter::once(1..2).collect(),
        };
        assert_eq!(pieces(&h).len(), 1);
    }
}

/// The language whose word forms a workspace's search understands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SearchLanguage {
    /// English: "ideas" finds "idea".
    #[default]
    En,
    /// German: "Häuser" finds "Haus".
    De,
}

impl SearchLanguage {
    /// The name stored and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchLanguage::En => "en",
            SearchLanguage::De => "de",
        }
    }
}

/// A workspace's search settings.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchSettings {
    /// en or de. Changing it rebuilds the index; searches use the old one until then.
    pub language: SearchLanguage,
}

impl App {
    /// The workspace's search settings (any member).
    pub async fn search_settings(&self, m: &Member) -> AppResult<SearchSettings> {
        m.allow(ideaweave_domain::policy::Action::ReadWorkspace)?;
        let mut tx = self.store.read().await?;
        let stored = tx.workspace(m.workspace).search_language().await?;
        Ok(SearchSettings {
            language: if stored == "de" {
                SearchLanguage::De
            } else {
                SearchLanguage::En
            },
        })
    }

    /// Sets the workspace's search language (admins); the index is rebuilt in it.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn set_search_settings(
        &self,
        m: &Member,
        s: SearchSettings,
    ) -> AppResult<SearchSettings> {
        m.allow(ideaweave_domain::policy::Action::ManageSettings)?;
        m.refuse_support()?;
        let before = self.search_settings(m).await?.language;
        if before == s.language {
            return Ok(s);
        }
        let mut tx = self.store.begin().await?;
        tx.workspace(m.workspace)
            .set_search_language(s.language.as_str())
            .await?;
        self.audit_by(
            &mut tx,
            m,
            crate::trust::audit::AuditAction::SettingsChanged,
            crate::trust::audit::Target::Scope,
            serde_json::json!({"search_language": {"from": before.as_str(), "to": s.language.as_str()}}),
        )
        .await?;
        tx.commit().await?;
        Ok(s)
    }
}
