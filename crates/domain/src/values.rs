//! Validated values.
//!
//! A value of one of these types has passed its checks once, at the edge, so code further in never
//! re-checks lengths or formats. Each constructor names the field it validates so that the error
//! a client sees says exactly which input was wrong.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a value was refused, and which field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The input field (as named in the API) that was refused.
    pub field: String,
    /// What was wrong, in words a person can act on.
    pub message: String,
}

impl ValidationError {
    /// A refusal of `field` for `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Trims `raw` and checks it has between `min` and `max` characters and no control characters
/// (other than newlines and tabs when `multiline`).
fn checked_text(
    field: &str,
    raw: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> Result<String, ValidationError> {
    let text = raw.trim();
    let count = text.chars().count();
    if count < min {
        return Err(if min == 1 {
            ValidationError::new(field, "must not be empty")
        } else {
            ValidationError::new(field, format!("must be at least {min} characters"))
        });
    }
    if count > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters (got {count})"),
        ));
    }
    let bad = text
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r')));
    if bad {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    if text.chars().any(|c| is_disguising(c, multiline)) {
        return Err(ValidationError::new(
            field,
            "must not contain invisible formatting characters (such as a right-to-left override) that can disguise what it says",
        ));
    }
    Ok(text.to_owned())
}

/// Invisible characters that change how text reads without showing (SEC-01, issue 19 finding
/// 11): `inv\u{202E}gnp.exe` displays as `invexe.png`. Bidirectional embeddings, overrides
/// and isolates are refused everywhere; zero-width spaces, the byte-order mark and the
/// left-to-right and right-to-left marks in one-line values (names, titles, file names). The
/// zero-width joiner and non-joiner stay allowed: Persian, Indic scripts and emoji sequences
/// need them, and they cannot reorder text.
fn is_disguising(c: char, multiline: bool) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        || (!multiline && matches!(c, '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{FEFF}'))
}

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, $field:literal, $min:expr, $max:expr, $multiline:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Longest accepted value, in characters.
            pub const MAX_CHARS: usize = $max;

            /// Validates `raw` for the field this type stands for.
            pub fn parse(raw: &str) -> Result<Self, ValidationError> {
                Self::parse_as($field, raw)
            }

            /// Validates `raw`, naming `field` in the error (for inputs whose API name differs).
            pub fn parse_as(field: &str, raw: &str) -> Result<Self, ValidationError> {
                checked_text(field, raw, $min, $max, $multiline).map(Self)
            }

            /// Wraps a value read back from storage, which was validated when it was written.
            pub fn from_trusted(s: String) -> Self {
                Self(s)
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, owned.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_value!(
    /// A person's display name.
    PersonName, "name", 1, 100, false
);
text_value!(
    /// A workspace's display name.
    WorkspaceName, "name", 1, 100, false
);
text_value!(
    /// A space's name.
    SpaceName, "name", 1, 100, false
);
text_value!(
    /// A short description (spaces, discussions).
    Description, "description", 0, 20_000, true
);
text_value!(
    /// A discussion's title.
    DiscussionTitle, "title", 1, 200, false
);
text_value!(
    /// An idea's title.
    IdeaTitle, "title", 1, 200, false
);
text_value!(
    /// An idea's body, in Markdown.
    IdeaBody, "body", 0, 50_000, true
);
text_value!(
    /// A comment's text, in Markdown.
    CommentBody, "body", 1, 10_000, true
);
text_value!(
    /// The name of a stage in the idea pipeline.
    StageName, "name", 1, 50, false
);
text_value!(
    /// The name of a rating criterion.
    CriterionName, "name", 1, 80, false
);
text_value!(
    /// A label given to an API token by its owner.
    TokenName, "name", 1, 100, false
);
text_value!(
    /// The title of a link.
    LinkTitle, "title", 0, 200, false
);
text_value!(
    /// The original file name of an attachment, kept for display and downloads only.
    FileName, "filename", 1, 255, false
);
text_value!(
    /// Who made a request to the request desk, as they gave it (a name, an address).
    Requester, "requester", 1, 500, false
);
text_value!(
    /// What a request to the request desk asks, in the admin's words.
    RequestDetails, "details", 0, 10_000, true
);
text_value!(
    /// How a request was answered.
    RequestResolution, "resolution", 1, 10_000, true
);

/// A workspace's URL name: lowercase letters, digits and single hyphens, 3 to 48 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    /// Validates a slug.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let s = raw.trim();
        let err = |m: &str| Err(ValidationError::new("slug", m));
        if s.len() < 3 || s.len() > 48 {
            return err("must be 3 to 48 characters");
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return err("may contain only lowercase letters a-z, digits and hyphens");
        }
        if s.starts_with('-') || s.ends_with('-') || s.contains("--") {
            return err("must not start or end with a hyphen or contain two in a row");
        }
        Ok(Self(s.to_owned()))
    }
    /// The slug text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address, normalised to lowercase. The check is deliberately modest (one `@`, a dot in
/// the domain, no spaces): the only real proof of an address is a message that arrives.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Validates and normalises an address.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let s = raw.trim().to_lowercase();
        let err = |m: &str| Err(ValidationError::new("email", m));
        if s.is_empty() {
            return err("must not be empty");
        }
        if s.len() > 254 {
            return err("must be at most 254 characters");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return err("must contain an @");
        };
        if local.is_empty() || domain.contains('@') {
            return err("must have exactly one @ with a name before it");
        }
        if !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return err("must have a domain such as example.org after the @");
        }
        if s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == ',')
        {
            return err("must not contain spaces, commas or angle brackets");
        }
        Ok(Self(s))
    }
    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tag on an idea: lowercase, 1 to 32 characters of letters, digits, `-` and `_`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tag(String);

impl Tag {
    /// Most tags one idea may carry.
    pub const MAX_PER_IDEA: usize = 10;

    /// Validates and normalises a tag as people type it: a leading `#` is dropped, letters are
    /// lowercased, and the spaces between words become one `-` (`#Quick  Win` is `quick-win`).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let s = raw
            .trim()
            .trim_start_matches('#')
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("-")
            .to_lowercase();
        let n = s.chars().count();
        if n == 0 || n > 32 {
            return Err(ValidationError::new(
                "tags",
                format!("each tag must be 1 to 32 characters (got {n})"),
            ));
        }
        if !s
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ValidationError::new(
                "tags",
                format!("tag {s:?} may contain only letters, digits, - and _"),
            ));
        }
        Ok(Self(s))
    }

    /// The tags in a field as people type them: separated by commas (`energy, quick win`), or
    /// each starting with `#` (`#energy #quick win`), or both. Each is still to be parsed.
    pub fn split_typed(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for piece in text.split(',') {
            let mut current = String::new();
            for word in piece.split_whitespace() {
                if word.starts_with('#') && !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                if !current.is_empty() {
                    current.push(' ');
                }
                current.push_str(word);
            }
            if !current.is_empty() {
                out.push(current);
            }
        }
        out
    }

    /// Validates a list of tags, removing duplicates and keeping the first-seen order.
    pub fn parse_list(raw: &[String]) -> Result<Vec<Tag>, ValidationError> {
        // Bounded before any work, so a huge list costs nothing (duplicates are removed below,
        // so a list with repeats may still be up to this long).
        if raw.len() > Self::MAX_PER_IDEA * 4 {
            return Err(ValidationError::new(
                "tags",
                format!("at most {} tags per idea", Self::MAX_PER_IDEA),
            ));
        }
        let mut out: Vec<Tag> = Vec::new();
        for r in raw {
            let t = Tag::parse(r)?;
            if !out.contains(&t) {
                out.push(t);
            }
        }
        if out.len() > Self::MAX_PER_IDEA {
            return Err(ValidationError::new(
                "tags",
                format!("at most {} tags per idea", Self::MAX_PER_IDEA),
            ));
        }
        Ok(out)
    }

    /// The tag text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a tag read back from storage.
    pub fn from_trusted(s: String) -> Self {
        Self(s)
    }
}

/// An absolute http(s) URL for a link. Other schemes (javascript:, data:, file:) are refused
/// because a link is something another member will click.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LinkUrl(String);

impl LinkUrl {
    /// Validates a link target.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let s = raw.trim();
        let err = |m: &str| Err(ValidationError::new("url", m));
        if s.len() > 2000 {
            return err("must be at most 2000 characters");
        }
        let lower = s.to_ascii_lowercase();
        let rest = if let Some(r) = lower.strip_prefix("https://") {
            r
        } else if let Some(r) = lower.strip_prefix("http://") {
            r
        } else {
            return err("must start with http:// or https://");
        };
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if host.is_empty() || host.starts_with('@') || host.starts_with(':') {
            return err("must name a host");
        }
        if s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>')
        {
            return err("must not contain spaces, quotes or angle brackets");
        }
        Ok(Self(s.to_owned()))
    }
    /// The URL text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Wraps a URL read back from storage.
    pub fn from_trusted(s: String) -> Self {
        Self(s)
    }
}

/// A rating on one criterion: 1 to 5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RatingValue(u8);

impl RatingValue {
    /// Validates a rating.
    pub fn new(v: i64) -> Result<Self, ValidationError> {
        if (1..=5).contains(&v) {
            Ok(Self(v as u8))
        } else {
            Err(ValidationError::new(
                "value",
                format!("must be a whole number from 1 to 5 (got {v})"),
            ))
        }
    }
    /// The rating.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// A member's vote on an idea.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VoteDirection {
    /// In favour.
    Up,
    /// Against.
    Down,
}

impl VoteDirection {
    /// The vote as it is counted: +1 or -1.
    pub fn value(self) -> i64 {
        match self {
            Self::Up => 1,
            Self::Down => -1,
        }
    }
    /// The direction of a stored vote value.
    pub fn from_value(v: i64) -> Option<Self> {
        match v {
            1 => Some(Self::Up),
            -1 => Some(Self::Down),
            _ => None,
        }
    }
}

/// A password as typed by a person. Only its length is checked here; strength policy arrives
/// with the identity work (IDN-01).
pub struct Password(String);

impl Password {
    /// Shortest accepted password.
    pub const MIN_CHARS: usize = 12;
    /// Longest accepted password (bounds the hashing work an attacker can ask for).
    pub const MAX_CHARS: usize = 256;

    /// Validates a new password.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let n = raw.chars().count();
        if n < Self::MIN_CHARS {
            return Err(ValidationError::new(
                "password",
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if n > Self::MAX_CHARS {
            return Err(ValidationError::new(
                "password",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Self(raw.to_owned()))
    }
    /// The password text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn col_01_tags_are_typed_with_or_without_hash_and_normalised() {
        let typed = Tag::split_typed("#Energy #quick  win, Cost cutting,#x,, ");
        assert_eq!(typed, ["#Energy", "#quick win", "Cost cutting", "#x"]);
        let tags: Vec<String> = typed
            .iter()
            .map(|t| Tag::parse(t).unwrap().as_str().to_owned())
            .collect();
        assert_eq!(tags, ["energy", "quick-win", "cost-cutting", "x"]);
        assert_eq!(Tag::parse("  ##Ümlaut  ").unwrap().as_str(), "ümlaut");
        assert!(Tag::parse("#").is_err());
        assert!(Tag::parse("no/slash").is_err());
        let list = Tag::parse_list(&["#A".into(), "a".into(), "A ".into()]).unwrap();
        assert_eq!(list.len(), 1, "the same tag however typed");
    }
    use super::*;

    #[test]
    fn slugs() {
        assert!(Slug::parse("acme-ideas").is_ok());
        assert!(Slug::parse("ab").is_err());
        assert!(Slug::parse("Acme").is_err());
        assert!(Slug::parse("-acme").is_err());
        assert!(Slug::parse("ac--me").is_err());
        assert!(Slug::parse("acme/../x").is_err());
    }

    #[test]
    fn emails_normalise_and_reject_junk() {
        assert_eq!(
            Email::parse(" Ann@Example.ORG ").unwrap().as_str(),
            "ann@example.org"
        );
        for bad in [
            "",
            "ann",
            "@example.org",
            "ann@example",
            "ann@@example.org",
            "a b@example.org",
            "ann@.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_limits_name_the_field() {
        let e = IdeaTitle::parse("   ").unwrap_err();
        assert_eq!(e.field, "title");
        let long = "x".repeat(IdeaTitle::MAX_CHARS + 1);
        assert!(
            IdeaTitle::parse(&long)
                .unwrap_err()
                .message
                .contains("at most")
        );
        assert!(IdeaTitle::parse("a\u{0007}b").is_err());
        assert!(IdeaBody::parse("line one\nline two").is_ok());
    }

    #[test]
    fn tags_dedupe_and_limit() {
        let t = Tag::parse_list(&["UX".into(), "ux".into(), "speed".into()]).unwrap();
        assert_eq!(t.len(), 2);
        let many: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
        assert!(Tag::parse_list(&many).is_err());
        let huge: Vec<String> = (0..200_000).map(|i| format!("t{i}")).collect();
        let started = std::time::Instant::now();
        assert!(Tag::parse_list(&huge).is_err());
        assert!(
            started.elapsed() < std::time::Duration::from_millis(50),
            "refused before the quadratic dedupe"
        );
        let repeated: Vec<String> = std::iter::repeat_n("same".to_owned(), 30).collect();
        assert_eq!(Tag::parse_list(&repeated).unwrap().len(), 1);
        assert_eq!(Tag::parse("no spaces").unwrap().as_str(), "no-spaces");
    }

    #[test]
    fn links_only_http() {
        assert!(LinkUrl::parse("https://example.org/a?b#c").is_ok());
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "ftp://x",
            "https://",
            "http://a b",
        ] {
            assert!(LinkUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ratings_are_one_to_five() {
        assert!(RatingValue::new(0).is_err());
        assert!(RatingValue::new(6).is_err());
        assert_eq!(RatingValue::new(3).unwrap().get(), 3);
    }

    #[test]
    fn sec_01_invisible_characters_that_disguise_text_are_refused() {
        for bad in [
            "inv\u{202E}gnp.exe",
            "a\u{2066}b",
            "zero\u{200B}width",
            "bom\u{FEFF}",
            "mark\u{200F}",
        ] {
            assert!(FileName::parse(bad).is_err(), "{bad:?}");
            assert!(IdeaTitle::parse(bad).is_err(), "{bad:?}");
        }
        assert!(IdeaBody::parse("text \u{202E} override").is_err());
        assert!(IdeaBody::parse("an RTL mark \u{200F} in a paragraph").is_ok());
        assert!(
            PersonName::parse("\u{0645}\u{06CC}\u{200C}\u{062E}\u{0648}\u{0627}\u{0645}").is_ok(),
            "Persian ZWNJ"
        );
        assert!(
            IdeaTitle::parse("family \u{1F468}\u{200D}\u{1F469}").is_ok(),
            "emoji ZWJ"
        );
    }
}
