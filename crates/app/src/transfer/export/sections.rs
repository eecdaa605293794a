//! The tables an export reads in pages, one section each (LIF-01): where a table's chunks go,
//! how its rows are paged, how a row becomes a record with its sealed values opened, and how a
//! chunk of records becomes rows again, sealed with this instance's keys. The generic loops in
//! the module above do the rest, so adding such a table to the export is one section here and
//! one line in each loop.

use std::collections::HashMap;
use std::future::Future;

use ideaweave_domain::*;
use ideaweave_store::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::format::*;
use super::{Importer, map};
use crate::platform::sealed::at;
use crate::platform::sealed::column;
use crate::{App, AppError, AppResult};

/// One table of the export read in pages and written in chunks under [`Section::DIR`].
pub(super) trait Section {
    /// The archive directory of the chunks, and the table's name in the manifest's counts.
    const DIR: &'static str;
    /// A row as the store reads it.
    type Row: Send;
    /// Where a page ends: the next page starts after it.
    type Cursor: Send;
    /// A record as the archive holds it.
    type Record: Serialize + DeserializeOwned + Send + Sync;

    /// At most `limit` rows after `after`, in the order the cursor follows.
    fn page(
        repo: &mut WorkspaceRepo<'_>,
        after: Option<Self::Cursor>,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<Self::Row>>> + Send;

    /// The cursor just past `row`.
    fn cursor(row: &Self::Row) -> Self::Cursor;

    /// The record of `row`, its sealed values opened.
    fn record(
        &mut self,
        app: &App,
        tx: &mut Tx,
        ws: WorkspaceId,
        row: Self::Row,
    ) -> impl Future<Output = AppResult<Self::Record>> + Send;

    /// Creates the rows of one chunk of records in the workspace being imported.
    async fn import(imp: &mut Importer<'_>, records: Vec<Self::Record>) -> AppResult<()>;
}

/// A text's mentions pointed at the people's ids here (an archive's people may be accounts
/// that exist here under other ids).
fn moved_mentions(people: &HashMap<Uuid, Uuid>, text: &str) -> String {
    ideaweave_domain::mention::remap(text, |u| UserId(map(people, u.0)))
}

/// The people named in a chunk's records, as their ids here; anyone not listed in
/// `people.jsonl` is refused (see [`Importer::listed`]).
fn listed_all<R>(
    imp: &Importer<'_>,
    records: &[R],
    who: impl Fn(&R) -> Uuid,
) -> AppResult<Vec<Uuid>> {
    records.iter().map(|r| imp.listed(who(r))).collect()
}

/// Discussions, with the rating criteria each one uses.
pub(super) struct Discussions {
    /// Discussion → its criteria, read before the discussions.
    pub criteria_of: HashMap<Uuid, Vec<Uuid>>,
}

impl Section for Discussions {
    const DIR: &'static str = "discussions";
    type Row = DiscussionRow;
    type Cursor = Uuid;
    type Record = DiscussionRecord;

    fn page(
        repo: &mut WorkspaceRepo<'_>,
        after: Option<Uuid>,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<DiscussionRow>>> + Send {
        repo.export_discussions(after, limit)
    }

    fn cursor(row: &DiscussionRow) -> Uuid {
        row.id
    }

    async fn record(
        &mut self,
        app: &App,
        tx: &mut Tx,
        ws: WorkspaceId,
        d: DiscussionRow,
    ) -> AppResult<DiscussionRecord> {
        Ok(DiscussionRecord {
            title: app
                .open_text(tx, &at(ws, column::DISCUSSIONS_TITLE, d.id), &d.title)
                .await?,
            description: app
                .open_text(
                    tx,
                    &at(ws, column::DISCUSSIONS_DESCRIPTION, d.id),
                    &d.description,
                )
                .await?,
            criteria: self.criteria_of.remove(&d.id).unwrap_or_default(),
            id: d.id,
            space_id: d.space_id,
            kind: d.kind,
            open: d.open,
            deadline: d.deadline,
            created_by: d.created_by,
            created_at: d.created_at,
            updated_at: d.updated_at,
        })
    }

    async fn import(imp: &mut Importer<'_>, rows: Vec<DiscussionRecord>) -> AppResult<()> {
        let app = imp.app;
        let now = app.now();
        let people = imp.people.clone();
        let (tx, ws) = imp.parts()?;
        let key = app
            .keyring
            .data_key(&mut tx.workspace(ws), None, now)
            .await?;
        for d in rows {
            if !matches!(d.kind.as_str(), "challenge" | "topic") {
                return Err(AppError::invalid("kind", "must be challenge or topic"));
            }
            let row = DiscussionRow {
                id: d.id,
                space_id: d.space_id,
                kind: d.kind,
                title: key.seal_text(ws, column::DISCUSSIONS_TITLE, d.id, &d.title)?,
                description: key.seal_text(
                    ws,
                    column::DISCUSSIONS_DESCRIPTION,
                    d.id,
                    &d.description,
                )?,
                open: d.open,
                deadline: d.deadline,
                created_by: map(&people, d.created_by),
                created_at: d.created_at,
                updated_at: d.updated_at,
            };
            let mut repo = tx.workspace(ws);
            repo.import_discussion(&row).await?;
            for c in d.criteria {
                repo.import_discussion_criterion(d.id, c).await?;
            }
        }
        Ok(())
    }
}

/// Ideas: title, excerpt and tags sealed as one summary, the body on its own.
pub(super) struct Ideas;

impl Section for Ideas {
    const DIR: &'static str = "ideas";
    type Row = IdeaRow;
    type Cursor = Uuid;
    type Record = IdeaRecord;

    fn page(
        repo: &mut WorkspaceRepo<'_>,
        after: Option<Uuid>,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<IdeaRow>>> + Send {
        repo.export_ideas(after, limit)
    }

    fn cursor(row: &IdeaRow) -> Uuid {
        row.id
    }

    async fn record(
        &mut self,
        app: &App,
        tx: &mut Tx,
        ws: WorkspaceId,
        i: IdeaRow,
    ) -> AppResult<IdeaRecord> {
        let summary = app.open_summary(tx, ws, i.id, &i.summary).await?;
        Ok(IdeaRecord {
            body: app
                .open_text(tx, &at(ws, column::IDEAS_BODY, i.id), &i.body)
                .await?,
            title: summary.title,
            tags: summary.tags,
            id: i.id,
            discussion_id: i.discussion_id,
            author_id: i.author_id,
            stage_id: i.stage_id,
            merged_into: i.merged_into,
            created_at: i.created_at,
            updated_at: i.updated_at,
            deleted_at: i.deleted_at,
            deleted_by: i.deleted_by,
        })
    }

    async fn import(imp: &mut Importer<'_>, rows: Vec<IdeaRecord>) -> AppResult<()> {
        let app = imp.app;
        let now = app.now();
        let authors = listed_all(imp, &rows, |i| i.author_id)?;
        let people = imp.people.clone();
        let (tx, ws) = imp.parts()?;
        for (i, author) in rows.into_iter().zip(authors) {
            let title = IdeaTitle::parse(&i.title)?;
            let body = IdeaBody::parse(&i.body)?;
            let body = IdeaBody::from_trusted(moved_mentions(&people, body.as_str()));
            let tags = i
                .tags
                .iter()
                .map(|t| Tag::parse(t))
                .collect::<Result<Vec<_>, _>>()?;
            let excerpt = crate::content::ideas::mentions_excerpt(body.as_str());
            let mut repo = tx.workspace(ws);
            let (summary, sealed_body, tag_index) = app
                .seal_idea(
                    &mut repo,
                    UserId(author),
                    IdeaId(i.id),
                    &title,
                    body.as_str(),
                    &excerpt,
                    &tags,
                    now,
                )
                .await?;
            repo.import_idea(
                &IdeaRow {
                    id: i.id,
                    discussion_id: i.discussion_id,
                    author_id: author,
                    summary,
                    body: sealed_body,
                    stage_id: i.stage_id,
                    merged_into: i.merged_into,
                    created_at: i.created_at,
                    updated_at: i.updated_at,
                    deleted_at: i.deleted_at,
                    deleted_by: i.deleted_by.map(|u| map(&people, u)),
                },
                &tag_index,
            )
            .await?;
        }
        Ok(())
    }
}

/// Comments, threaded by their parent.
pub(super) struct Comments;

impl Section for Comments {
    const DIR: &'static str = "comments";
    type Row = CommentRow;
    type Cursor = Uuid;
    type Record = CommentRecord;

    fn page(
        repo: &mut WorkspaceRepo<'_>,
        after: Option<Uuid>,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<CommentRow>>> + Send {
        repo.export_comments(after, limit)
    }

    fn cursor(row: &CommentRow) -> Uuid {
        row.id
    }

    async fn record(
        &mut self,
        app: &App,
        tx: &mut Tx,
        ws: WorkspaceId,
        c: CommentRow,
    ) -> AppResult<CommentRecord> {
        Ok(CommentRecord {
            body: app
                .open_text(tx, &at(ws, column::COMMENTS_BODY, c.id), &c.body)
                .await?,
            id: c.id,
            idea_id: c.idea_id,
            parent_id: c.parent_id,
            author_id: c.author_id,
            moved_from: c.moved_from,
            created_at: c.created_at,
            updated_at: c.updated_at,
            deleted_at: c.deleted_at,
            deleted_by: c.deleted_by,
        })
    }

    async fn import(imp: &mut Importer<'_>, rows: Vec<CommentRecord>) -> AppResult<()> {
        let app = imp.app;
        let now = app.now();
        let authors = listed_all(imp, &rows, |c| c.author_id)?;
        let people = imp.people.clone();
        let (tx, ws) = imp.parts()?;
        for (c, author) in rows.into_iter().zip(authors) {
            let key = app
                .keyring
                .data_key(&mut tx.workspace(ws), Some(UserId(author)), now)
                .await?;
            let row = CommentRow {
                id: c.id,
                idea_id: c.idea_id,
                parent_id: c.parent_id,
                author_id: author,
                body: key.seal_text(
                    ws,
                    column::COMMENTS_BODY,
                    c.id,
                    &moved_mentions(&people, &c.body),
                )?,
                moved_from: c.moved_from,
                created_at: c.created_at,
                updated_at: c.updated_at,
                deleted_at: c.deleted_at,
                deleted_by: c.deleted_by.map(|u| map(&people, u)),
            };
            tx.workspace(ws).import_comment(&row).await?;
        }
        Ok(())
    }
}

/// Earlier texts of edited comments, each sealed again with its comment author's key.
pub(super) struct CommentRevisions;

impl Section for CommentRevisions {
    const DIR: &'static str = "comment_revisions";
    type Row = CommentRevisionRow;
    type Cursor = Uuid;
    type Record = CommentRevisionRecord;

    fn page(
        repo: &mut WorkspaceRepo<'_>,
        after: Option<Uuid>,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<CommentRevisionRow>>> + Send {
        repo.export_comment_revisions(after, limit)
    }

    fn cursor(row: &CommentRevisionRow) -> Uuid {
        row.id
    }

    async fn record(
        &mut self,
        app: &App,
        tx: &mut Tx,
        ws: WorkspaceId,
        r: CommentRevisionRow,
    ) -> AppResult<CommentRevisionRecord> {
        Ok(CommentRevisionRecord {
            body: app
                .open_text(tx, &at(ws, column::COMMENT_REVISIONS_BODY, r.id), &r.body)
                .await?,
            id: r.id,
            comment_id: r.comment_id,
            written_at: r.written_at,
            replaced_at: r.replaced_at,
        })
    }

    async fn import(imp: &mut Importer<'_>, rows: Vec<CommentRevisionRecord>) -> AppResult<()> {
        let app = imp.app;
        let now = app.now();
        let people = imp.people.clone();
        let (tx, ws) = imp.parts()?;
        for r in rows {
            // Sealed with the key of the comment's author, imported before: a version of a
            // comment the archive does not hold is refused.
            let author = tx
                .workspace(ws)
                .comment(CommentId(r.comment_id))
                .await?
                .ok_or_else(|| {
                    AppError::invalid(
                        "archive",
                        format!(
                            "comment version {} belongs to comment {}, which the archive does not hold",
                            r.id, r.comment_id
                        ),
                    )
                })?
                .author_id;
            let key = app
                .keyring
                .data_key(&mut tx.workspace(ws), Some(author), now)
                .await?;
            let row = CommentRevisionRow {
                body: key.seal_text(
                    ws,
                    column::COMMENT_REVISIONS_BODY,
                    r.id,
                    &moved_mentions(&people, &r.body),
                )?,
                id: r.id,
                comment_id: r.comment_id,
                written_at: r.written_at,
                replaced_at: r.replaced_at,
            };
            tx.workspace(ws).insert_comment_revision(&row).await?;
        }
        Ok(())
    }
}

/// Votes (+1 or -1), one per idea and person.
pub(super) struct Votes;

impl Section for Votes {
    const DIR: &'static str = "votes";
    type Row = VoteRow;
    type Cursor = (Uuid, Uuid);
    type Record = VoteRecord;

    fn page(
        repo: &mut WorkspaceRepo<'_>,
        after: Option<(Uuid, Uuid)>,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<VoteRow>>> + Send {
        repo.export_votes(after, limit)
    }

    fn cursor(row: &VoteRow) -> (Uuid, Uuid) {
        (row.idea_id, row.user_id)
    }

    async fn record(
        &mut self,
        _app: &App,
        _tx: &mut Tx,
        _ws: WorkspaceId,
        v: VoteRow,
    ) -> AppResult<VoteRecord> {
        Ok(VoteRecord {
            idea_id: v.idea_id,
            user_id: v.user_id,
            value: v.value,
            moved_from: v.moved_from,
            updated_at: v.updated_at,
        })
    }

    async fn import(imp: &mut Importer<'_>, rows: Vec<VoteRecord>) -> AppResult<()> {
        let voters = listed_all(imp, &rows, |v| v.user_id)?;
        let (tx, ws) = imp.parts()?;
        for (v, voter) in rows.into_iter().zip(voters) {
            if v.value != 1 && v.value != -1 {
                return Err(AppError::invalid("value", "a vote is +1 or -1"));
            }
            tx.workspace(ws)
                .import_vote(&VoteRow {
                    idea_id: v.idea_id,
                    user_id: voter,
                    value: v.value,
                    moved_from: v.moved_from,
                    updated_at: v.updated_at,
                })
                .await?;
        }
        Ok(())
    }
}

/// Ratings, one per idea, criterion and person.
pub(super) struct Ratings;

impl Section for Ratings {
    const DIR: &'static str = "ratings";
    type Row = RatingRow;
    type Cursor = (Uuid, Uuid, Uuid);
    type Record = RatingRecord;

    fn page(
        repo: &mut WorkspaceRepo<'_>,
        after: Option<(Uuid, Uuid, Uuid)>,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<RatingRow>>> + Send {
        repo.export_ratings(after, limit)
    }

    fn cursor(row: &RatingRow) -> (Uuid, Uuid, Uuid) {
        (row.idea_id, row.criterion_id, row.user_id)
    }

    async fn record(
        &mut self,
        _app: &App,
        _tx: &mut Tx,
        _ws: WorkspaceId,
        r: RatingRow,
    ) -> AppResult<RatingRecord> {
        Ok(RatingRecord {
            idea_id: r.idea_id,
            criterion_id: r.criterion_id,
            user_id: r.user_id,
            value: r.value,
            updated_at: r.updated_at,
        })
    }

    async fn import(imp: &mut Importer<'_>, rows: Vec<RatingRecord>) -> AppResult<()> {
        let raters = listed_all(imp, &rows, |r| r.user_id)?;
        let (tx, ws) = imp.parts()?;
        for (r, rater) in rows.into_iter().zip(raters) {
            RatingValue::new(r.value)?;
            tx.workspace(ws)
                .import_rating(&RatingRow {
                    idea_id: r.idea_id,
                    criterion_id: r.criterion_id,
                    user_id: rater,
                    value: r.value,
                    updated_at: r.updated_at,
                })
                .await?;
        }
        Ok(())
    }
}

/// Links on ideas and comments.
pub(super) struct Links;

impl Section for Links {
    const DIR: &'static str = "links";
    type Row = LinkRow;
    type Cursor = Uuid;
    type Record = LinkRecord;

    fn page(
        repo: &mut WorkspaceRepo<'_>,
        after: Option<Uuid>,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<LinkRow>>> + Send {
        repo.export_links(after, limit)
    }

    fn cursor(row: &LinkRow) -> Uuid {
        row.id
    }

    async fn record(
        &mut self,
        app: &App,
        tx: &mut Tx,
        ws: WorkspaceId,
        l: LinkRow,
    ) -> AppResult<LinkRecord> {
        Ok(LinkRecord {
            url: app
                .open_text(tx, &at(ws, column::LINKS_URL, l.id), &l.url)
                .await?,
            title: app
                .open_text(tx, &at(ws, column::LINKS_TITLE, l.id), &l.title)
                .await?,
            id: l.id,
            idea_id: l.idea_id,
            comment_id: l.comment_id,
            created_by: l.created_by,
            created_at: l.created_at,
        })
    }

    async fn import(imp: &mut Importer<'_>, rows: Vec<LinkRecord>) -> AppResult<()> {
        let app = imp.app;
        let now = app.now();
        let creators = listed_all(imp, &rows, |l| l.created_by)?;
        let (tx, ws) = imp.parts()?;
        for (l, by) in rows.into_iter().zip(creators) {
            let key = app
                .keyring
                .data_key(&mut tx.workspace(ws), Some(UserId(by)), now)
                .await?;
            let row = LinkRow {
                id: l.id,
                idea_id: l.idea_id,
                comment_id: l.comment_id,
                url: key.seal_text(ws, column::LINKS_URL, l.id, &l.url)?,
                title: key.seal_text(ws, column::LINKS_TITLE, l.id, &l.title)?,
                created_by: by,
                created_at: l.created_at,
            };
            tx.workspace(ws).import_link(&row).await?;
        }
        Ok(())
    }
}
