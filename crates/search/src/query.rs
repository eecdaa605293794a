//! The query syntax people type, parsed before the engine sees it (documented in
//! `docs/search.md`):
//!
//! - `budget travel` — both words, in any field, in any of their forms ("travels", "Travel");
//!   a word of five letters or more also finds near misses ("buget");
//! - `"night train"` — the words next to each other, in this order;
//! - `sust*` — words starting with "sust";
//! - `-train`, `-"night train"` — leave out what contains it;
//! - `train OR bus` — either.
//!
//! The engine's own query language is not exposed: it names internal fields, and its errors
//! speak of the engine. A query that cannot be read gets a [`QueryError`] that says why, which
//! the API answers with 422.

/// The longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 256;
/// The most words, phrases and prefixes in one query.
pub const MAX_CLAUSES: usize = 16;
/// The fewest letters before a `*`.
pub const MIN_PREFIX_CHARS: usize = 2;

/// Why a query cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Nothing to search for.
    #[error("type something to search for")]
    Empty,
    /// Longer than [`MAX_QUERY_CHARS`].
    #[error("the search is too long: at most {max} characters")]
    TooLong { max: usize },
    /// More than [`MAX_CLAUSES`] words.
    #[error("the search has too many words: at most {max}")]
    TooManyTerms { max: usize },
    /// A `"` without its closing `"`.
    #[error("a quotation mark is not closed: end the phrase with \"")]
    UnclosedQuote,
    /// A `*` after fewer than [`MIN_PREFIX_CHARS`] letters.
    #[error("put at least {min} letters before *")]
    ShortPrefix { min: usize },
    /// Only exclusions: nothing says what to find.
    #[error("say what to find, not only what to leave out")]
    OnlyExclusions,
    /// `OR` with nothing on one side.
    #[error("OR needs a word on each side")]
    DanglingOr,
}

impl QueryError {
    /// A stable code for the error, for translations and API clients.
    pub fn code(&self) -> &'static str {
        match self {
            QueryError::Empty => "empty",
            QueryError::TooLong { .. } => "too_long",
            QueryError::TooManyTerms { .. } => "too_many_terms",
            QueryError::UnclosedQuote => "unclosed_quote",
            QueryError::ShortPrefix { .. } => "short_prefix",
            QueryError::OnlyExclusions => "only_exclusions",
            QueryError::DanglingOr => "dangling_or",
        }
    }
}

/// One thing to look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    /// A word, in any of its forms.
    Word(String),
    /// Words starting with this.
    Prefix(String),
    /// Words in this order.
    Phrase(Vec<String>),
}

/// A parsed query: every group must match (a group matches when any of its clauses does), and
/// no excluded clause may.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedQuery {
    /// Groups that must all match; within a group, clauses joined by `OR`.
    pub groups: Vec<Vec<Clause>>,
    /// Clauses that must not match.
    pub excluded: Vec<Clause>,
}

/// A token of the query text.
enum Token {
    Clause { negated: bool, clause: Clause },
    Or,
}

impl ParsedQuery {
    /// Parses `text`. With `as_you_type`, a last word not yet followed by a space is also
    /// matched as the start of a word, so results follow each letter typed.
    pub fn parse(text: &str, as_you_type: bool) -> Result<Self, QueryError> {
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong {
                max: MAX_QUERY_CHARS,
            });
        }
        let mut tokens = tokenize(text)?;
        if as_you_type
            && !text.ends_with(char::is_whitespace)
            && let Some(Token::Clause {
                negated: false,
                clause,
            }) = tokens.last_mut()
            && let Clause::Word(w) = clause
            && w.chars().filter(|c| c.is_alphanumeric()).count() >= MIN_PREFIX_CHARS
        {
            *clause = Clause::Prefix(std::mem::take(w));
        }
        let clauses = tokens
            .iter()
            .filter(|t| matches!(t, Token::Clause { .. }))
            .count();
        if clauses == 0 {
            return Err(QueryError::Empty);
        }
        if clauses > MAX_CLAUSES {
            return Err(QueryError::TooManyTerms { max: MAX_CLAUSES });
        }
        let mut groups: Vec<Vec<Clause>> = Vec::new();
        let mut excluded = Vec::new();
        let mut or_pending = false;
        for token in tokens {
            match token {
                Token::Or => {
                    if or_pending || groups.is_empty() {
                        return Err(QueryError::DanglingOr);
                    }
                    or_pending = true;
                }
                Token::Clause {
                    negated: true,
                    clause,
                } => {
                    if or_pending {
                        return Err(QueryError::DanglingOr);
                    }
                    excluded.push(clause);
                }
                Token::Clause {
                    negated: false,
                    clause,
                } => match groups.last_mut() {
                    Some(group) if or_pending => {
                        group.push(clause);
                        or_pending = false;
                    }
                    _ => groups.push(vec![clause]),
                },
            }
        }
        if or_pending {
            return Err(QueryError::DanglingOr);
        }
        if groups.is_empty() {
            return Err(QueryError::OnlyExclusions);
        }
        Ok(ParsedQuery { groups, excluded })
    }

    /// Every word of the query that says what to find (for finding similar things).
    pub fn positive_words(&self) -> impl Iterator<Item = &str> {
        self.groups
            .iter()
            .flatten()
            .flat_map(|c| match c {
                Clause::Word(w) | Clause::Prefix(w) => std::slice::from_ref(w).iter(),
                Clause::Phrase(words) => words.iter(),
            })
            .map(String::as_str)
    }
}

/// Splits the text into clauses and `OR`s.
fn tokenize(text: &str) -> Result<Vec<Token>, QueryError> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let negated = c == '-';
        if negated {
            chars.next();
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut phrase = String::new();
            let mut closed = false;
            for c in chars.by_ref() {
                if c == '"' {
                    closed = true;
                    break;
                }
                phrase.push(c);
            }
            if !closed {
                return Err(QueryError::UnclosedQuote);
            }
            let words: Vec<String> = phrase.split_whitespace().map(str::to_owned).collect();
            let clause = match words.len() {
                0 => continue,
                1 => Clause::Word(words.into_iter().collect()),
                _ => Clause::Phrase(words),
            };
            tokens.push(Token::Clause { negated, clause });
            continue;
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == '"' {
                break;
            }
            word.push(c);
            chars.next();
        }
        if word == "OR" && !negated {
            tokens.push(Token::Or);
            continue;
        }
        let clause = if let Some(stem) = word.strip_suffix('*') {
            let stem = stem.trim_end_matches('*');
            if stem.chars().filter(|c| c.is_alphanumeric()).count() < MIN_PREFIX_CHARS {
                return Err(QueryError::ShortPrefix {
                    min: MIN_PREFIX_CHARS,
                });
            }
            Clause::Prefix(stem.to_owned())
        } else if word.is_empty() {
            // A lone "-": nothing to leave out.
            continue;
        } else {
            Clause::Word(word)
        };
        tokens.push(Token::Clause { negated, clause });
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(ws: &[&str]) -> Vec<String> {
        ws.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn words_phrases_prefixes_exclusions_and_or_are_read() {
        let q = ParsedQuery::parse(
            r#"budget "night train" sust* -bus -"red car" a OR b"#,
            false,
        )
        .unwrap();
        assert_eq!(
            q.groups,
            vec![
                vec![Clause::Word("budget".into())],
                vec![Clause::Phrase(words(&["night", "train"]))],
                vec![Clause::Prefix("sust".into())],
                vec![Clause::Word("a".into()), Clause::Word("b".into())],
            ]
        );
        assert_eq!(
            q.excluded,
            vec![
                Clause::Word("bus".into()),
                Clause::Phrase(words(&["red", "car"]))
            ]
        );
    }

    #[test]
    fn as_you_type_makes_the_last_unfinished_word_a_prefix() {
        let q = ParsedQuery::parse("green ener", true).unwrap();
        assert_eq!(q.groups[1], vec![Clause::Prefix("ener".into())]);
        let q = ParsedQuery::parse("green ener ", true).unwrap();
        assert_eq!(q.groups[1], vec![Clause::Word("ener".into())]);
        let q = ParsedQuery::parse("green e", true).unwrap();
        assert_eq!(q.groups[1], vec![Clause::Word("e".into())]);
        let q = ParsedQuery::parse("green e-", true).unwrap();
        assert_eq!(
            q.groups[1],
            vec![Clause::Word("e-".into())],
            "letters are counted"
        );
    }

    #[test]
    fn malformed_queries_say_why() {
        let cases = [
            ("", QueryError::Empty),
            ("   ", QueryError::Empty),
            ("\"\"", QueryError::Empty),
            ("\"night train", QueryError::UnclosedQuote),
            ("a*", QueryError::ShortPrefix { min: 2 }),
            ("*", QueryError::ShortPrefix { min: 2 }),
            ("-bus", QueryError::OnlyExclusions),
            ("OR bus", QueryError::DanglingOr),
            ("bus OR", QueryError::DanglingOr),
            ("bus OR OR car", QueryError::DanglingOr),
            ("bus OR -car", QueryError::DanglingOr),
        ];
        for (text, expected) in cases {
            assert_eq!(ParsedQuery::parse(text, false), Err(expected), "{text:?}");
        }
        let long = "a".repeat(MAX_QUERY_CHARS + 1);
        assert_eq!(
            ParsedQuery::parse(&long, false),
            Err(QueryError::TooLong {
                max: MAX_QUERY_CHARS
            })
        );
        let many = vec!["w"; MAX_CLAUSES + 1].join(" ");
        assert_eq!(
            ParsedQuery::parse(&many, false),
            Err(QueryError::TooManyTerms { max: MAX_CLAUSES })
        );
    }

    #[test]
    fn hostile_text_never_panics() {
        for text in [
            "\u{0}",
            "-",
            "--",
            "\"-\"",
            "-*",
            "ÄÖÜ*",
            "🦀🦀*",
            "\"\"\"",
            "a\"b",
            "OR",
            "-OR",
        ] {
            let _ = ParsedQuery::parse(text, true);
            let _ = ParsedQuery::parse(text, false);
        }
    }
}
