//! Full-text search over one workspace's documents (COL-05).
//!
//! Each workspace has its own index, held in memory only: [`WorkspaceIndex::files`] hands its
//! committed files to the caller, which seals them with the workspace's key before they reach
//! any store, and [`WorkspaceIndex::open`] takes them back once opened. This crate knows
//! nothing of keys, databases or permissions: the caller says which spaces a searcher may see
//! ([`Scope`]), and every search is confined to them.

mod document;
mod index;
pub mod query;
mod schema;

pub use document::{Document, Kind, Language};
pub use index::{
    Change, Committed, Cursor, Highlighted, Hit, IndexFile, Request, Results, Scope, Sort,
    WorkspaceIndex,
};
pub use query::{MAX_QUERY_CHARS, ParsedQuery, QueryError};

/// A search failure.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The engine failed.
    #[error("search engine error: {0}")]
    Engine(#[from] tantivy::TantivyError),
    /// Reading or writing the in-memory files failed.
    #[error("search index I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Files handed to [`WorkspaceIndex::open`] are not an index.
    #[error("search index files are damaged: {0}")]
    Corrupt(String),
    /// The files were written with other fields (an older release): rebuild the index.
    #[error("the search index was written by another release and must be rebuilt")]
    Incompatible,
    /// A writer panicked while holding the index.
    #[error("a search index writer failed while holding the index")]
    Poisoned,
}

impl From<tantivy::directory::error::OpenWriteError> for SearchError {
    fn from(e: tantivy::directory::error::OpenWriteError) -> Self {
        SearchError::Engine(e.into())
    }
}

impl From<tantivy::directory::error::OpenReadError> for SearchError {
    fn from(e: tantivy::directory::error::OpenReadError) -> Self {
        SearchError::Engine(e.into())
    }
}

/// Result of a search operation.
pub type SearchResult<T> = Result<T, SearchError>;
