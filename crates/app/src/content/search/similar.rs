//! Similar ideas (COL-05): while an author types a new idea's title, the ideas already posted
//! that look like it, so that a duplicate is found before it is posted; and, on an idea's
//! page, its likely duplicates for moderators to merge.
//!
//! The text's distinctive words (common English and German words left out) are searched for
//! as alternatives, ranked by BM25 like any search, with the last word also matching as the
//! start of a longer one while it is being typed. The search is the member's own: it finds only
//! what they may see. Ideas already merged into another are left out: the one they were merged
//! into is the place to go.

use ideaweave_domain::{DiscussionId, IdeaId};
use ideaweave_search::MAX_QUERY_CHARS;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::api::{TextPiece, pieces};
use super::{SearchInput, SearchKind, SearchSort};
use crate::{App, AppResult, Member};

/// The most similar ideas shown.
pub const MAX_SIMILAR: usize = 5;
/// The most words of the text searched for.
const MAX_WORDS: usize = 12;
/// Words shorter than this say little about an idea.
const MIN_WORD_CHARS: usize = 3;
/// Longer words are cut (no real word is longer).
const MAX_WORD_CHARS: usize = 30;
/// The most of the text read: a title, or the start of a longer text.
const MAX_TEXT_CHARS: usize = 500;

/// Words too common to tell ideas apart, in the languages search understands.
const COMMON: &[&str] = &[
    "the", "and", "for", "with", "our", "that", "this", "are", "was", "from", "into", "can",
    "should", "have", "has", "not", "all", "more", "new", "use", "how", "why", "what", "let",
    "make", "der", "die", "das", "und", "für", "mit", "ein", "eine", "einen", "wir", "ist",
    "nicht", "von", "auf", "den", "dem", "des", "zum", "zur", "bei", "sich", "auch", "wie", "mehr",
    "neue", "neuen", "soll", "sollte", "sollten", "können", "unsere", "unser",
];

/// What to look for.
#[derive(Debug, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SimilarQuery {
    /// The title (or any text) being written.
    pub title: String,
    /// An idea to leave out (the one whose duplicates are sought).
    pub exclude: Option<Uuid>,
    /// Only ideas in this discussion (where an idea can be merged).
    pub discussion: Option<Uuid>,
}

/// An idea like the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SimilarIdea {
    pub id: Uuid,
    pub discussion_id: Option<Uuid>,
    /// Its title, in pieces: the words it shares with the text are `matched`.
    pub title: Vec<TextPiece>,
    /// Its net votes.
    pub votes: i64,
}

/// Ideas like the text, most alike first (at most five).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SimilarIdeas {
    pub items: Vec<SimilarIdea>,
}

/// The query for ideas like `text`: its distinctive words as alternatives, within the query
/// length search accepts; `None` when it has none.
fn similarity_query(text: &str) -> Option<String> {
    let mut words: Vec<String> = Vec::new();
    let mut len = 0;
    let text: String = text.chars().take(MAX_TEXT_CHARS).collect();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        let word: String = word.to_lowercase().chars().take(MAX_WORD_CHARS).collect();
        if word.chars().count() < MIN_WORD_CHARS
            || COMMON.contains(&word.as_str())
            || words.contains(&word)
        {
            continue;
        }
        // " OR " between words.
        let more = word.chars().count() + if words.is_empty() { 0 } else { 4 };
        if len + more > MAX_QUERY_CHARS {
            break;
        }
        len += more;
        words.push(word);
        if words.len() == MAX_WORDS {
            break;
        }
    }
    (!words.is_empty()).then(|| words.join(" OR "))
}

impl App {
    /// Up to [`MAX_SIMILAR`] ideas `m` may see that look like `text` (in `discussion`, if
    /// given), leaving out `exclude` and ideas merged into another.
    #[tracing::instrument(skip_all)]
    pub async fn similar_ideas(
        &self,
        m: &Member,
        text: &str,
        discussion: Option<DiscussionId>,
        exclude: Option<IdeaId>,
    ) -> AppResult<Vec<SimilarIdea>> {
        let Some(q) = similarity_query(text) else {
            return Ok(Vec::new());
        };
        let found = self
            .search(
                m,
                &SearchInput {
                    q,
                    kinds: vec![SearchKind::Idea],
                    discussion: discussion.map(|d| d.0),
                    sort: SearchSort::Relevance,
                    // Room for the excluded and merged ones.
                    limit: (MAX_SIMILAR * 2) as u32,
                    as_you_type: true,
                    ..SearchInput::default()
                },
            )
            .await?;
        let ids: Vec<Uuid> = found
            .hits
            .iter()
            .map(|h| h.id)
            .filter(|id| exclude.is_none_or(|e| e.0 != *id))
            .collect();
        let merged = self
            .store
            .read()
            .await?
            .workspace(m.workspace)
            .merged_among(&ids)
            .await?;
        let out = found
            .hits
            .into_iter()
            .filter(|h| ids.contains(&h.id) && !merged.contains(&h.id))
            .take(MAX_SIMILAR)
            .map(|hit| SimilarIdea {
                id: hit.id,
                discussion_id: hit.discussion,
                title: pieces(&hit.title),
                votes: hit.votes,
            })
            .collect();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_the_texts_distinctive_words_as_alternatives() {
        assert_eq!(
            similarity_query("Solar panels for the roof — solar!").as_deref(),
            Some("solar OR panels OR roof")
        );
        assert_eq!(
            similarity_query("Mehr Fahrräder für die Stadt").as_deref(),
            Some("fahrräder OR stadt")
        );
        assert_eq!(similarity_query("a, an, or the"), None);
        assert_eq!(similarity_query("\"-*( OR )*-\""), None);
        let many = (0..40)
            .map(|i| format!("word{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let q = similarity_query(&many).unwrap();
        assert_eq!(q.split(" OR ").count(), MAX_WORDS);
        let long = "x".repeat(500);
        assert_eq!(similarity_query(&long).unwrap().len(), MAX_WORD_CHARS);
        // The longest query it makes is one search accepts.
        let worst = (0..40)
            .map(|i| format!("{}{i:02}", "İ".repeat(28)))
            .collect::<Vec<_>>()
            .join(" ");
        let q = similarity_query(&worst).unwrap();
        assert!(q.chars().count() <= MAX_QUERY_CHARS, "{}", q.len());
        assert!(ideaweave_search::ParsedQuery::parse(&q, true).is_ok());
    }
}
