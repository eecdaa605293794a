//! Opening what the database holds into the documents the index takes: each item's sealed
//! text is opened with its key here, in memory, and nowhere else.
//!
//! Markdown is indexed as its words, without its markup, so that snippets read as text.
//!
//! What cannot be opened is not indexed: a key that was shredded (an erased person, a
//! restored backup older than the erasure) means the item is gone for search too, and a value
//! that fails its integrity check (someone altered the database) is left out with a warning
//! instead of stopping the workspace's indexing.

use ideaweave_crypto::Place;
use ideaweave_domain::markdown::plain_text;
use ideaweave_domain::{UserId, WorkspaceId};
use ideaweave_search::{Change, Document, Kind};
use ideaweave_store::{
    SearchCommentRow, SearchDiscussionRow, SearchFileRow, SearchIdeaRow, SearchLinkRow,
    SearchMemberRow, SearchSpaceRow, Tx,
};
use uuid::Uuid;

use crate::platform::sealed::{IdeaSummaryText, account, at, column};
use crate::{App, AppError, AppResult};

/// A text that opened, or why not.
enum Opened<T> {
    Text(T),
    /// Shredded or altered: leave the item out.
    Unreadable,
}

impl App {
    /// Opens a sealed text for indexing.
    async fn open_for_index(
        &self,
        tx: &mut Tx,
        place: &Place<'_>,
        sealed: &[u8],
    ) -> AppResult<Opened<String>> {
        match self.keyring.open_text(tx, place, sealed).await {
            Ok(Some(text)) => Ok(Opened::Text(text)),
            Ok(None) => Ok(Opened::Unreadable),
            Err(AppError::Integrity(why)) => {
                tracing::warn!(
                    table = place.table,
                    column = place.column,
                    row = %place.row,
                    %why,
                    "a sealed value failed its integrity check; it is left out of search"
                );
                Ok(Opened::Unreadable)
            }
            Err(e) => Err(e),
        }
    }

    /// Opens several sealed texts of one item; `None` if any cannot be opened.
    async fn open_all(
        &self,
        tx: &mut Tx,
        values: &[(Place<'_>, &[u8])],
    ) -> AppResult<Option<Vec<String>>> {
        let mut out = Vec::with_capacity(values.len());
        for (place, sealed) in values {
            match self.open_for_index(tx, place, sealed).await? {
                Opened::Text(t) => out.push(t),
                Opened::Unreadable => return Ok(None),
            }
        }
        Ok(Some(out))
    }

    /// The document of an idea.
    pub(super) async fn idea_document(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        r: SearchIdeaRow,
    ) -> AppResult<Change> {
        let remove = Change::Remove {
            kind: Kind::Idea,
            id: r.id,
        };
        let Some(texts) = self
            .open_all(
                tx,
                &[
                    (at(ws, column::IDEAS_SUMMARY, r.id), &r.summary),
                    (at(ws, column::IDEAS_BODY, r.id), &r.body),
                ],
            )
            .await?
        else {
            return Ok(remove);
        };
        let [summary, body] = <[String; 2]>::try_from(texts)
            .map_err(|_| AppError::internal("an idea opened into the wrong number of texts"))?;
        let Ok(summary) = serde_json::from_str::<IdeaSummaryText>(&summary) else {
            tracing::warn!(idea = %r.id, "an idea's summary is not what it should be; left out of search");
            return Ok(remove);
        };
        Ok(Change::Put(Document {
            space: Some(r.space_id),
            discussion: Some(r.discussion_id),
            idea: Some(r.id),
            stage: Some(r.stage_id),
            author: Some(r.author_id),
            tags: summary.tags,
            votes: r.score,
            deleted: r.deleted_at.is_some(),
            ..Document::new(
                Kind::Idea,
                r.id,
                r.created_at,
                summary.title,
                plain_text(&body),
            )
        }))
    }

    /// The document of a comment.
    pub(super) async fn comment_document(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        r: SearchCommentRow,
    ) -> AppResult<Change> {
        match self
            .open_for_index(tx, &at(ws, column::COMMENTS_BODY, r.id), &r.body)
            .await?
        {
            Opened::Unreadable => Ok(Change::Remove {
                kind: Kind::Comment,
                id: r.id,
            }),
            Opened::Text(body) => Ok(Change::Put(Document {
                space: Some(r.space_id),
                discussion: Some(r.discussion_id),
                idea: Some(r.idea_id),
                author: Some(r.author_id),
                deleted: r.deleted_at.is_some() || r.idea_deleted_at.is_some(),
                ..Document::new(
                    Kind::Comment,
                    r.id,
                    r.created_at,
                    String::new(),
                    plain_text(&body),
                )
            })),
        }
    }

    /// The document of a discussion.
    pub(super) async fn discussion_document(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        r: SearchDiscussionRow,
    ) -> AppResult<Change> {
        let texts = self
            .open_all(
                tx,
                &[
                    (at(ws, column::DISCUSSIONS_TITLE, r.id), &r.title),
                    (
                        at(ws, column::DISCUSSIONS_DESCRIPTION, r.id),
                        &r.description,
                    ),
                ],
            )
            .await?;
        Ok(titled(Kind::Discussion, r.id, texts, |title, body| {
            Document {
                space: Some(r.space_id),
                discussion: Some(r.id),
                author: Some(r.created_by),
                ..Document::new(
                    Kind::Discussion,
                    r.id,
                    r.created_at,
                    title,
                    plain_text(&body),
                )
            }
        }))
    }

    /// The document of a space.
    pub(super) async fn space_document(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        r: SearchSpaceRow,
    ) -> AppResult<Change> {
        let texts = self
            .open_all(
                tx,
                &[
                    (at(ws, column::SPACES_NAME, r.id), &r.name),
                    (at(ws, column::SPACES_DESCRIPTION, r.id), &r.description),
                ],
            )
            .await?;
        Ok(titled(Kind::Space, r.id, texts, |title, body| Document {
            space: Some(r.id),
            author: Some(r.created_by),
            ..Document::new(Kind::Space, r.id, r.created_at, title, plain_text(&body))
        }))
    }

    /// The document of a link: its title, and its address as its text.
    pub(super) async fn link_document(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        r: SearchLinkRow,
    ) -> AppResult<Change> {
        let texts = self
            .open_all(
                tx,
                &[
                    (at(ws, column::LINKS_TITLE, r.id), &r.title),
                    (at(ws, column::LINKS_URL, r.id), &r.url),
                ],
            )
            .await?;
        Ok(titled(Kind::Link, r.id, texts, |title, body| Document {
            space: Some(r.space_id),
            discussion: Some(r.discussion_id),
            idea: Some(r.idea_id),
            author: Some(r.created_by),
            deleted: r.idea_deleted_at.is_some() || r.comment_deleted_at.is_some(),
            ..Document::new(Kind::Link, r.id, r.created_at, title, body)
        }))
    }

    /// The document of an uploaded file: its name (its text is added by `add_file_texts`,
    /// outside the transaction).
    pub(super) async fn file_document(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        r: SearchFileRow,
    ) -> AppResult<Change> {
        match self
            .open_for_index(tx, &at(ws, column::ATTACHMENTS_FILENAME, r.id), &r.filename)
            .await?
        {
            Opened::Unreadable => Ok(Change::Remove {
                kind: Kind::File,
                id: r.id,
            }),
            Opened::Text(name) => Ok(Change::Put(Document {
                space: Some(r.space_id),
                discussion: Some(r.discussion_id),
                idea: Some(r.idea_id),
                author: Some(r.uploader_id),
                deleted: r.idea_deleted_at.is_some() || r.comment_deleted_at.is_some(),
                ..Document::new(Kind::File, r.id, r.created_at, name, String::new())
            })),
        }
    }

    /// The document of a member: their name.
    pub(super) async fn member_document(
        &self,
        tx: &mut Tx,
        r: SearchMemberRow,
    ) -> AppResult<Change> {
        let remove = Change::Remove {
            kind: Kind::Member,
            id: r.user_id,
        };
        if r.name.is_empty() {
            return Ok(remove);
        }
        match self
            .open_for_index(tx, &account(column::USERS_NAME, UserId(r.user_id)), &r.name)
            .await?
        {
            Opened::Unreadable => Ok(remove),
            Opened::Text(name) => Ok(Change::Put(Document::new(
                Kind::Member,
                r.user_id,
                r.joined_at,
                name,
                String::new(),
            ))),
        }
    }

    /// The change for one queued item, read as it is now: its document, or its removal when
    /// it is gone.
    pub(super) async fn queued_document(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        kind: Kind,
        id: Uuid,
    ) -> AppResult<Change> {
        let gone = Change::Remove { kind, id };
        let change = match kind {
            Kind::Idea => match tx.workspace(ws).search_idea(id).await? {
                Some(r) => self.idea_document(tx, ws, r).await?,
                None => gone,
            },
            Kind::Comment => match tx.workspace(ws).search_comment(id).await? {
                Some(r) => self.comment_document(tx, ws, r).await?,
                None => gone,
            },
            Kind::Discussion => match tx.workspace(ws).search_discussion(id).await? {
                Some(r) => self.discussion_document(tx, ws, r).await?,
                None => gone,
            },
            Kind::Space => match tx.workspace(ws).search_space(id).await? {
                Some(r) => self.space_document(tx, ws, r).await?,
                None => gone,
            },
            Kind::Link => match tx.workspace(ws).search_link(id).await? {
                Some(r) => self.link_document(tx, ws, r).await?,
                None => gone,
            },
            Kind::File => match tx.workspace(ws).search_file(id).await? {
                Some(r) => self.file_document(tx, ws, r).await?,
                None => gone,
            },
            Kind::Member => match tx.workspace(ws).search_member(id).await? {
                Some(r) => self.member_document(tx, r).await?,
                None => gone,
            },
        };
        Ok(change)
    }
}

/// A document from two opened texts (title and body), or its removal when they did not open.
fn titled(
    kind: Kind,
    id: Uuid,
    texts: Option<Vec<String>>,
    make: impl FnOnce(String, String) -> Document,
) -> Change {
    match texts.map(<[String; 2]>::try_from) {
        Some(Ok([title, body])) => Change::Put(make(title, body)),
        _ => Change::Remove { kind, id },
    }
}
