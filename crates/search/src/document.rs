//! What the index holds: one document per searchable thing of a workspace.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// The kinds of searchable things.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// An idea: its title, body and tags.
    Idea,
    /// A comment on an idea.
    Comment,
    /// A discussion (a challenge or a topic): its title and description.
    Discussion,
    /// A space: its name and description.
    Space,
    /// A link on an idea or comment: its title and address.
    Link,
    /// An uploaded file: its name and the text inside it.
    File,
    /// A member of the workspace: their name.
    Member,
}

impl Kind {
    /// Every kind, in the order result facets list them.
    pub const ALL: [Kind; 7] = [
        Kind::Idea,
        Kind::Comment,
        Kind::Discussion,
        Kind::Space,
        Kind::Link,
        Kind::File,
        Kind::Member,
    ];

    /// The name used in the API, the queue table and the index.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Idea => "idea",
            Kind::Comment => "comment",
            Kind::Discussion => "discussion",
            Kind::Space => "space",
            Kind::Link => "link",
            Kind::File => "file",
            Kind::Member => "member",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown kind {s:?}: expected one of {}",
                    Kind::ALL.map(Kind::as_str).join(", ")
                )
            })
    }
}

/// The language whose word forms a workspace's index understands: words are reduced to their
/// stem ("ideas" finds "idea", "Häuser" finds "Haus").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Language {
    /// English stemming.
    #[default]
    English,
    /// German stemming.
    German,
}

impl Language {
    /// Every language.
    pub const ALL: [Language; 2] = [Language::English, Language::German];

    /// The name stored and used in settings (`en`, `de`).
    pub fn as_str(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::German => "de",
        }
    }
}

impl FromStr for Language {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Language::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| format!("unknown search language {s:?}: expected en or de"))
    }
}

/// One searchable thing, as the app opened it from the database.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// What it is.
    pub kind: Kind,
    /// Its id (a member's is their user id).
    pub id: Uuid,
    /// The space it is in (a space's own id for a space; `None` for a member, whom the member
    /// list's rule governs instead).
    pub space: Option<Uuid>,
    /// The discussion it is in.
    pub discussion: Option<Uuid>,
    /// The idea it belongs to (an idea's own id for an idea).
    pub idea: Option<Uuid>,
    /// The idea's stage.
    pub stage: Option<Uuid>,
    /// Who wrote it; `None` for what has no author (an anonymised person's contributions keep
    /// the former member's id, which leads to nobody).
    pub author: Option<Uuid>,
    /// The idea's tags.
    pub tags: Vec<String>,
    /// When it was made (Unix milliseconds).
    pub created_at: i64,
    /// The idea's score (up-votes minus down-votes); 0 for other kinds.
    pub votes: i64,
    /// Whether it is deleted (or hangs off a deleted idea): found only by moderators asking
    /// for deleted content.
    pub deleted: bool,
    /// Its title or name.
    pub title: String,
    /// Its text.
    pub body: String,
}

impl Document {
    /// A document of `kind` with its text: in no space, by no one, live, without votes or
    /// tags. Each kind sets the fields it has on the result.
    pub fn new(kind: Kind, id: Uuid, created_at: i64, title: String, body: String) -> Self {
        Self {
            kind,
            id,
            space: None,
            discussion: None,
            idea: None,
            stage: None,
            author: None,
            tags: Vec::new(),
            created_at,
            votes: 0,
            deleted: false,
            title,
            body,
        }
    }
}
