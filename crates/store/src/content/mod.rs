//! A workspace's content: ideas, comments, votes, ratings, attachments, links and merges.

pub(crate) mod activity;
pub(crate) mod files;
pub(crate) mod history;
pub(crate) mod inbox;
pub(crate) mod notifications;
pub(crate) mod profiles;
pub(crate) mod s3_files;
pub(crate) mod search;
pub(crate) mod search_file_texts;
use ideaweave_domain::paging::{Cursor, IdeaSort};
use ideaweave_domain::*;
use std::sync::LazyLock;

use uuid::Uuid;

use crate::platform::records::*;
use crate::workspace::WorkspaceRepo;
use crate::{DatabaseKind, StoreResult};

/// A new idea's fields, validated.
pub struct NewIdea<'a> {
    pub id: IdeaId,
    pub discussion: DiscussionId,
    pub author: UserId,
    /// Sealed title, excerpt and tags.
    pub summary: &'a [u8],
    /// Sealed Markdown body.
    pub body: &'a [u8],
    /// Blind indexes of the tags, for filtering (the tags themselves are in `summary`).
    pub tag_index: &'a [Vec<u8>],
    pub stage: StageId,
    pub hot: f64,
}

/// Which ideas of a discussion to list, and in which order.
#[derive(Debug, Clone)]
pub struct IdeaQuery {
    pub discussion: DiscussionId,
    pub viewer: UserId,
    pub sort: IdeaSort,
    pub stage: Option<StageId>,
    /// Blind index of the tag to filter by.
    pub tag_index: Option<Vec<u8>>,
    /// Only ideas this person wrote.
    pub author: Option<UserId>,
    /// Only ideas posted at or after this time (Unix ms).
    pub since: Option<i64>,
    /// Only ideas posted at or before this time (Unix ms).
    pub until: Option<i64>,
    pub after: Option<Cursor>,
    /// Rows to skip first (page-numbered lists; `after` is the cheaper way on).
    pub offset: u32,
    /// Rows to fetch (the caller asks for one more than it shows, to know if a next page exists).
    pub limit: u32,
}

impl IdeaQuery {
    /// Whether the list is narrowed by anything but its discussion (a count then has to be
    /// made; the discussion's own count serves otherwise).
    pub fn is_filtered(&self) -> bool {
        self.stage.is_some()
            || self.tag_index.is_some()
            || self.author.is_some()
            || self.since.is_some()
            || self.until.is_some()
    }
}

/// A new attachment's metadata.
pub struct NewAttachment<'a> {
    pub id: AttachmentId,
    pub idea: IdeaId,
    pub comment: Option<CommentId>,
    pub uploader: UserId,
    pub filename: &'a [u8],
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a [u8],
}

enum Bind {
    Uuid(Uuid),
    I64(i64),
    F64(f64),
    Bytes(Vec<u8>),
}

/// `$query` with every value of `$binds` bound in order. A macro, not a function: the query's
/// type differs per database and per statement (rows or one value).
macro_rules! bind_all {
    ($query:expr, $binds:expr) => {{
        let mut query = $query;
        for b in $binds {
            query = match b {
                Bind::Uuid(v) => query.bind(v),
                Bind::I64(v) => query.bind(v),
                Bind::F64(v) => query.bind(v),
                Bind::Bytes(v) => query.bind(v),
            };
        }
        query
    }};
}

/// The viewer's own vote is a correlated primary-key probe rather than a join: PostgreSQL's
/// generic plan for a join chose, on tables without fresh statistics, to scan all of the viewer's
/// votes for every listed idea (12,000 rows filtered per request at 1,000 ideas).
pub(crate) const IDEA_COLUMNS: &str = "i.id, i.discussion_id, i.author_id, u.name AS author_name, i.summary, i.stage_id, \
    i.upvotes, i.downvotes, i.score, i.hot, i.comment_count, i.merged_into, i.created_at, i.updated_at, i.deleted_at, \
    (SELECT v.value FROM votes v WHERE v.workspace_id = i.workspace_id AND v.idea_id = i.id AND v.user_id = $2) AS my_vote";

pub(crate) const IDEA_FROM: &str = "FROM ideas i JOIN users u ON u.id = i.author_id ";

const IDEA_SCOPE: &str = "SELECT i.id, i.discussion_id, i.author_id, i.created_at, i.deleted_at, i.merged_into, \
    d.title AS discussion_title, d.open AS discussion_open, d.deadline AS discussion_deadline, s.private AS space_private, \
    EXISTS (SELECT 1 FROM space_members sm WHERE sm.workspace_id = s.workspace_id AND sm.space_id = s.id AND sm.user_id = $3) AS space_listed \
    FROM ideas i JOIN discussions d ON d.workspace_id = i.workspace_id AND d.id = i.discussion_id \
    JOIN spaces s ON s.workspace_id = d.workspace_id AND s.id = d.space_id WHERE i.workspace_id = $1 AND i.id = $2";

pub(crate) const COMMENT_COLUMNS: &str = "SELECT c.id, c.idea_id, c.parent_id, c.author_id, u.name AS author_name, c.body, c.created_at, \
    c.updated_at, c.deleted_at FROM comments c JOIN users u ON u.id = c.author_id ";

/// Attachments and links say whether the comment they hang on is deleted: they are hidden with it.
pub(crate) const ATTACHMENT_COLUMNS: &str = "SELECT a.id, a.idea_id, a.comment_id, a.uploader_id, a.filename, a.content_type, a.size_bytes, a.sha256, a.created_at, \
    a.preview_width, a.preview_height, \
    EXISTS (SELECT 1 FROM comments c WHERE c.workspace_id = a.workspace_id AND c.id = a.comment_id AND c.deleted_at IS NOT NULL) AS comment_deleted \
    FROM attachments a ";

pub(crate) const LINK_COLUMNS: &str = "SELECT a.id, a.idea_id, a.comment_id, a.url, a.title, a.created_by, a.created_at, \
    EXISTS (SELECT 1 FROM comments c WHERE c.workspace_id = a.workspace_id AND c.id = a.comment_id AND c.deleted_at IS NOT NULL) AS comment_deleted \
    FROM links a ";

/// The idea page's statement for one database: `$1` workspace, `$2` viewer, `$3` idea, `$4` how
/// many comments.
fn idea_page_sql(kind: DatabaseKind) -> String {
    use crate::platform::nested::{hex_of, json_rows};
    let rating = |col: &str, filter: &str| {
        format!(
            "(SELECT {col} FROM ratings r WHERE r.workspace_id = $1 AND r.idea_id = i.id AND r.criterion_id = rc.id{filter})"
        )
    };
    let ratings = json_rows(
        kind,
        &[
            hex_of(kind, "rc.id", true),
            hex_of(kind, "rc.name", false),
            "rc.position".into(),
            rating("COUNT(*)", ""),
            rating("CAST(AVG(r.value) AS DOUBLE PRECISION)", ""),
            rating("r.value", " AND r.user_id = $2"),
        ],
        "FROM discussion_criteria dc \
         JOIN rating_criteria rc ON rc.workspace_id = dc.workspace_id AND rc.id = dc.criterion_id \
         WHERE dc.workspace_id = $1 AND dc.discussion_id = i.discussion_id",
    );
    let comments = json_rows(
        kind,
        &[
            hex_of(kind, "c.id", true),
            hex_of(kind, "c.parent_id", true),
            hex_of(kind, "c.author_id", true),
            hex_of(kind, "c.author_name", false),
            hex_of(kind, "c.body", false),
            "c.created_at".into(),
            "c.updated_at".into(),
            "c.deleted_at".into(),
        ],
        "FROM (SELECT c.id, c.parent_id, c.author_id, u.name AS author_name, c.body, c.created_at, \
         c.updated_at, c.deleted_at FROM comments c JOIN users u ON u.id = c.author_id \
         WHERE c.workspace_id = $1 AND c.idea_id = $3 ORDER BY c.id LIMIT $4) c",
    );
    format!(
        "SELECT {IDEA_COLUMNS}, i.body, \
         d.title AS discussion_title, d.open AS discussion_open, d.deadline AS discussion_deadline, \
         s.private AS space_private, \
         EXISTS (SELECT 1 FROM space_members sm WHERE sm.workspace_id = s.workspace_id AND sm.space_id = s.id AND sm.user_id = $2) AS space_listed, \
         EXISTS (SELECT 1 FROM attachments a WHERE a.workspace_id = i.workspace_id AND a.idea_id = i.id) AS has_attachments, \
         EXISTS (SELECT 1 FROM links l WHERE l.workspace_id = i.workspace_id AND l.idea_id = i.id) AS has_links, \
         EXISTS (SELECT 1 FROM idea_merges m WHERE m.workspace_id = i.workspace_id AND (m.target_id = i.id OR m.source_id = i.id)) AS has_merges, \
         EXISTS (SELECT 1 FROM idea_follows f WHERE f.workspace_id = i.workspace_id AND f.idea_id = i.id AND f.user_id = $2) AS following, \
         {ratings} AS ratings, {comments} AS comments \
         {IDEA_FROM} JOIN discussions d ON d.workspace_id = i.workspace_id AND d.id = i.discussion_id \
         JOIN spaces s ON s.workspace_id = d.workspace_id AND s.id = d.space_id \
         WHERE i.workspace_id = $1 AND i.id = $3"
    )
}

static IDEA_PAGE_SQLITE: LazyLock<String> = LazyLock::new(|| idea_page_sql(DatabaseKind::Sqlite));
static IDEA_PAGE_POSTGRES: LazyLock<String> =
    LazyLock::new(|| idea_page_sql(DatabaseKind::Postgres));

/// The criteria an idea is rated on, from the idea page's row, in their order.
fn nested_ratings(json: &str) -> StoreResult<Vec<IdeaRatingRecord>> {
    use crate::platform::nested::{hex, parse, uuid};
    type Rating = (String, String, i64, i64, Option<f64>, Option<i64>);
    let mut out = parse::<Rating>("ratings", json)?
        .into_iter()
        .map(|(id, name, position, count, average, mine)| {
            Ok(IdeaRatingRecord {
                id: CriterionId(uuid("criterion id", &id)?),
                name: hex("criterion name", &name)?,
                position,
                count,
                average,
                mine,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    out.sort_by_key(|r| (r.position, r.id.0));
    Ok(out)
}

/// An idea's comments, from the idea page's row, oldest first.
fn nested_comments(idea: IdeaId, json: &str) -> StoreResult<Vec<CommentRecord>> {
    use crate::platform::nested::{hex, parse, uuid};
    type Comment = (
        String,
        Option<String>,
        String,
        String,
        String,
        i64,
        i64,
        Option<i64>,
    );
    let mut out = parse::<Comment>("comments", json)?
        .into_iter()
        .map(
            |(id, parent, author, author_name, body, created_at, updated_at, deleted_at)| {
                Ok(CommentRecord {
                    id: CommentId(uuid("comment id", &id)?),
                    idea_id: idea,
                    parent_id: parent.map(|p| uuid("parent id", &p)).transpose()?,
                    author_id: UserId(uuid("author id", &author)?),
                    author_name: hex("author name", &author_name)?,
                    body: hex("comment body", &body)?,
                    created_at,
                    updated_at,
                    deleted_at,
                })
            },
        )
        .collect::<StoreResult<Vec<_>>>()?;
    out.sort_by_key(|c| c.id.0);
    Ok(out)
}

impl WorkspaceRepo<'_> {
    // ---- ideas -----------------------------------------------------------------------------

    /// Posts an idea with its tags.
    pub async fn insert_idea(&mut self, idea: NewIdea<'_>, now: i64) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO ideas (workspace_id, id, discussion_id, author_id, summary, body, stage_id, hot, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            ).bind(ws).bind(idea.id.0).bind(idea.discussion.0).bind(idea.author.0).bind(idea.summary).bind(idea.body)
            .bind(idea.stage.0).bind(idea.hot).bind(now)
            .execute(&mut *c).await?;
            for t in idea.tag_index {
                sqlx::query(sql::INSERT_IDEA)
                    .bind(ws)
                    .bind(idea.id.0)
                    .bind(t.as_slice())
                    .execute(&mut *c)
                    .await?;
            }
        });
        self.count_idea(idea.id, 1).await?;
        Ok(())
    }

    /// Where an idea lives and who wrote it, with its space's visibility for `viewer`.
    pub async fn idea_scope(
        &mut self,
        id: IdeaId,
        viewer: UserId,
    ) -> StoreResult<Option<IdeaScope>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(IDEA_SCOPE)
                .bind(ws)
                .bind(id.0)
                .bind(viewer.0)
                .fetch_optional(c)
                .await?
        }))
    }

    /// One idea as `viewer` sees it (their own vote included), with its full body.
    pub async fn idea(
        &mut self,
        id: IdeaId,
        viewer: UserId,
    ) -> StoreResult<Option<(IdeaRecord, Vec<u8>)>> {
        let ws = self.ws;
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {IDEA_COLUMNS}, i.body {IDEA_FROM} WHERE i.workspace_id = $1 AND i.id = $3"
        ));
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            idea: IdeaRecord,
            body: Vec<u8>,
        }
        let row: Option<Row> = on_conn!(self.tx, |c| {
            sqlx::query_as(sql)
                .bind(ws)
                .bind(viewer.0)
                .bind(id.0)
                .fetch_optional(c)
                .await?
        });
        Ok(row.map(|r| (r.idea, r.body)))
    }

    /// One idea with its scope (as [`Self::idea_scope`]), whether anything hangs off it that
    /// needs reading (files, links, merges), its ratings per criterion of its discussion (with
    /// `viewer`'s own) and its first `comments` comments: the idea page's one read. The ratings
    /// and comments come nested in the idea's row (see [`crate::platform::nested`]).
    pub async fn idea_with_scope(
        &mut self,
        id: IdeaId,
        viewer: UserId,
        comments: u32,
    ) -> StoreResult<Option<IdeaWithScope>> {
        let ws = self.ws;
        let sql = match self.tx.kind() {
            DatabaseKind::Sqlite => &*IDEA_PAGE_SQLITE,
            DatabaseKind::Postgres => &*IDEA_PAGE_POSTGRES,
        };
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            idea: IdeaRecord,
            body: Vec<u8>,
            discussion_title: Vec<u8>,
            discussion_open: bool,
            discussion_deadline: Option<i64>,
            space_private: bool,
            space_listed: bool,
            has_attachments: bool,
            has_links: bool,
            has_merges: bool,
            following: bool,
            ratings: String,
            comments: String,
        }
        let row: Option<Row> = on_conn!(self.tx, |c| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(ws)
                .bind(viewer.0)
                .bind(id.0)
                .bind(i64::from(comments))
                .fetch_optional(c)
                .await?
        });
        let Some(r) = row else { return Ok(None) };
        Ok(Some(IdeaWithScope {
            scope: IdeaScope {
                id: r.idea.id,
                discussion_id: r.idea.discussion_id,
                author_id: r.idea.author_id,
                created_at: r.idea.created_at,
                deleted_at: r.idea.deleted_at,
                merged_into: r.idea.merged_into,
                discussion_title: r.discussion_title,
                discussion_open: r.discussion_open,
                discussion_deadline: r.discussion_deadline,
                space_private: r.space_private,
                space_listed: r.space_listed,
            },
            ratings: nested_ratings(&r.ratings)?,
            comments: nested_comments(r.idea.id, &r.comments)?,
            idea: r.idea,
            body: r.body,
            has_attachments: r.has_attachments,
            has_links: r.has_links,
            has_merges: r.has_merges,
            following: r.following,
        }))
    }

    /// The filters of `q` on a statement over `ideas i`, numbered after the binds already in
    /// `binds`.
    fn idea_filters(q: &IdeaQuery, binds: &mut Vec<Bind>, sql: &mut String) {
        let param = |binds: &mut Vec<Bind>, b: Bind| {
            binds.push(b);
            format!("${}", binds.len())
        };
        if let Some(stage) = q.stage {
            let p = param(binds, Bind::Uuid(stage.0));
            sql.push_str(&format!(" AND i.stage_id = {p}"));
        }
        if let Some(tag) = &q.tag_index {
            let p = param(binds, Bind::Bytes(tag.clone()));
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM idea_tags t WHERE t.workspace_id = i.workspace_id AND t.idea_id = i.id AND t.tag_index = {p})"
            ));
        }
        if let Some(author) = q.author {
            let p = param(binds, Bind::Uuid(author.0));
            sql.push_str(&format!(" AND i.author_id = {p}"));
        }
        if let Some(since) = q.since {
            let p = param(binds, Bind::I64(since));
            sql.push_str(&format!(" AND i.created_at >= {p}"));
        }
        if let Some(until) = q.until {
            let p = param(binds, Bind::I64(until));
            sql.push_str(&format!(" AND i.created_at <= {p}"));
        }
    }

    /// How many live ideas of the discussion pass the filters of `q` (its cursor and limit
    /// aside).
    pub async fn count_ideas(&mut self, q: &IdeaQuery) -> StoreResult<i64> {
        let mut binds = vec![Bind::Uuid(self.ws), Bind::Uuid(q.discussion.0)];
        let mut sql =
            "SELECT COUNT(*) FROM ideas i WHERE i.workspace_id = $1 AND i.discussion_id = $2 \
             AND i.deleted_at IS NULL AND i.merged_into IS NULL"
                .to_owned();
        Self::idea_filters(q, &mut binds, &mut sql);
        let sql = sqlx::AssertSqlSafe(sql);
        Ok(on_conn!(self.tx, |c| {
            bind_all!(sqlx::query_scalar::<_, i64>(sql), binds)
                .fetch_one(c)
                .await?
        }))
    }

    /// A page of a discussion's live ideas (neither deleted nor merged away).
    pub async fn ideas(&mut self, q: &IdeaQuery) -> StoreResult<Vec<IdeaRecord>> {
        let mut binds = vec![
            Bind::Uuid(self.ws),
            Bind::Uuid(q.viewer.0),
            Bind::Uuid(q.discussion.0),
        ];
        let mut sql = format!(
            "SELECT {IDEA_COLUMNS} {IDEA_FROM} WHERE i.workspace_id = $1 AND i.discussion_id = $3 \
             AND i.deleted_at IS NULL AND i.merged_into IS NULL"
        );
        let param = |binds: &mut Vec<Bind>, b: Bind| {
            binds.push(b);
            format!("${}", binds.len())
        };
        Self::idea_filters(q, &mut binds, &mut sql);
        let key_column = match q.sort {
            IdeaSort::Top => Some("i.score"),
            IdeaSort::Trending => Some("i.hot"),
            IdeaSort::Newest => None,
        };
        if let Some(cur) = &q.after {
            let id = param(&mut binds, Bind::Uuid(cur.id));
            match key_column {
                Some(col) => {
                    let key = if q.sort == IdeaSort::Top {
                        Bind::I64(cur.key as i64)
                    } else {
                        Bind::F64(cur.key)
                    };
                    let k = param(&mut binds, key);
                    sql.push_str(&format!(
                        " AND ({col} < {k} OR ({col} = {k} AND i.id < {id}))"
                    ));
                }
                None => sql.push_str(&format!(" AND i.id < {id}")),
            }
        }
        match key_column {
            Some(col) => sql.push_str(&format!(" ORDER BY {col} DESC, i.id DESC")),
            None => sql.push_str(" ORDER BY i.id DESC"),
        }
        let lim = param(&mut binds, Bind::I64(i64::from(q.limit)));
        sql.push_str(&format!(" LIMIT {lim}"));
        if q.offset > 0 {
            let off = param(&mut binds, Bind::I64(i64::from(q.offset)));
            sql.push_str(&format!(" OFFSET {off}"));
        }
        let sql = sqlx::AssertSqlSafe(sql);
        Ok(on_conn!(self.tx, |c| {
            bind_all!(sqlx::query_as::<_, IdeaRecord>(sql), binds)
                .fetch_all(c)
                .await?
        }))
    }

    /// Replaces an idea's sealed summary and body and its tag index.
    pub async fn update_idea(
        &mut self,
        id: IdeaId,
        summary: &[u8],
        body: &[u8],
        tag_index: &[Vec<u8>],
        now: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::UPDATE_IDEA)
                .bind(ws)
                .bind(id.0)
                .bind(summary)
                .bind(body)
                .bind(now)
                .execute(&mut *c)
                .await?;
            sqlx::query(sql::UPDATE_IDEA_2)
                .bind(ws)
                .bind(id.0)
                .execute(&mut *c)
                .await?;
            for t in tag_index {
                sqlx::query(sql::INSERT_IDEA)
                    .bind(ws)
                    .bind(id.0)
                    .bind(t.as_slice())
                    .execute(&mut *c)
                    .await?;
            }
        });
        Ok(())
    }

    /// Moves an idea to a stage.
    pub async fn set_idea_stage(
        &mut self,
        id: IdeaId,
        stage: StageId,
        now: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::SET_IDEA_STAGE)
                .bind(ws)
                .bind(id.0)
                .bind(stage.0)
                .bind(now)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Moves the live-idea count of the discussion that `idea` is in by `delta`. Every method
    /// here that makes an idea live or not live calls it in the same statement sequence, so the
    /// count cannot drift from the rows whichever use case changes them.
    pub(crate) async fn count_idea(&mut self, idea: IdeaId, delta: i64) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "UPDATE discussions SET idea_count = idea_count + $3 WHERE workspace_id = $1 \
                 AND id = (SELECT i.discussion_id FROM ideas i WHERE i.workspace_id = $1 AND i.id = $2)",
            ).bind(ws).bind(idea.0).bind(delta).execute(c).await?;
        });
        Ok(())
    }

    /// Soft-deletes an idea (`by` = Some) or restores a deleted one (`by` = None), only if it is
    /// in the opposite state now; returns whether it changed (false: another request got there
    /// first). The discussion's count moves only for an idea that changed and is not merged.
    pub async fn set_idea_deleted(
        &mut self,
        id: IdeaId,
        by: Option<UserId>,
        now: i64,
    ) -> StoreResult<bool> {
        let ws = self.ws;
        let at = by.map(|_| now);
        let sql = if by.is_some() {
            "UPDATE ideas SET deleted_at = $3, deleted_by = $4 WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING merged_into"
        } else {
            "UPDATE ideas SET deleted_at = $3, deleted_by = $4 WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NOT NULL RETURNING merged_into"
        };
        let merged: Option<Option<Uuid>> = on_conn!(self.tx, |c| {
            sqlx::query_scalar(sql)
                .bind(ws)
                .bind(id.0)
                .bind(at)
                .bind(by.map(|u| u.0))
                .fetch_optional(c)
                .await?
        });
        match merged {
            None => Ok(false),
            Some(Some(_)) => Ok(true),
            Some(None) => {
                self.count_idea(id, if by.is_some() { -1 } else { 1 })
                    .await?;
                Ok(true)
            }
        }
    }

    /// Whether an idea is deleted (`None` when there is no such idea).
    async fn idea_deleted(&mut self, id: IdeaId) -> StoreResult<Option<bool>> {
        let ws = self.ws;
        let deleted: Option<Option<i64>> = on_conn!(self.tx, |c| {
            sqlx::query_scalar(sql::IDEA_DELETED)
                .bind(ws)
                .bind(id.0)
                .fetch_optional(c)
                .await?
        });
        Ok(deleted.map(|d| d.is_some()))
    }

    /// True when the idea is neither deleted nor merged (read under its lock).
    pub async fn idea_is_live(&mut self, id: IdeaId) -> StoreResult<bool> {
        let ws = self.ws;
        let n: i64 = on_conn!(self.tx, |c| {
            sqlx::query_scalar(sql::IDEA_IS_LIVE)
                .bind(ws)
                .bind(id.0)
                .fetch_one(c)
                .await?
        });
        Ok(n == 1)
    }

    /// Takes the row lock on an idea for the rest of the transaction, so that concurrent votes
    /// and comments recount it one after another. SQLite's write transactions are already
    /// exclusive.
    pub async fn lock_idea(&mut self, id: IdeaId) -> StoreResult<()> {
        if self.tx.kind() == DatabaseKind::Postgres {
            let ws = self.ws;
            on_conn!(self.tx, |c| {
                sqlx::query(sql::PG_LOCK_IDEA)
                    .bind(ws)
                    .bind(id.0)
                    .execute(c)
                    .await?;
            });
        }
        Ok(())
    }

    /// Recounts an idea's votes and comments and stores its score and hot score. Callers hold
    /// the idea's lock ([`Self::lock_idea`]).
    pub async fn recount_idea(&mut self, id: IdeaId) -> StoreResult<()> {
        let ws = self.ws;
        let (up, down, created): (i64, i64, i64) = on_conn!(self.tx, |c| {
            sqlx::query(
                "UPDATE ideas SET \
                 upvotes = (SELECT COUNT(*) FROM votes v WHERE v.workspace_id = $1 AND v.idea_id = $2 AND v.value = 1), \
                 downvotes = (SELECT COUNT(*) FROM votes v WHERE v.workspace_id = $1 AND v.idea_id = $2 AND v.value = -1), \
                 comment_count = (SELECT COUNT(*) FROM comments cm WHERE cm.workspace_id = $1 AND cm.idea_id = $2 AND cm.deleted_at IS NULL) \
                 WHERE workspace_id = $1 AND id = $2",
            ).bind(ws).bind(id.0).execute(&mut *c).await?;
            sqlx::query_as(sql::RECOUNT_IDEA)
                .bind(ws)
                .bind(id.0)
                .fetch_one(&mut *c)
                .await?
        });
        let score = up - down;
        let hot = ideaweave_domain::ranking::hot_score(score, created);
        on_conn!(self.tx, |c| {
            sqlx::query(sql::RECOUNT_IDEA_2)
                .bind(ws)
                .bind(id.0)
                .bind(score)
                .bind(hot)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    // ---- votes and ratings -----------------------------------------------------------------

    /// Sets a member's vote on an idea (replacing an earlier one).
    pub async fn upsert_vote(
        &mut self,
        idea: IdeaId,
        user: UserId,
        value: i64,
        now: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO votes (workspace_id, idea_id, user_id, value, updated_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (workspace_id, idea_id, user_id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            ).bind(ws).bind(idea.0).bind(user.0).bind(value).bind(now).execute(c).await?;
        });
        Ok(())
    }

    /// Withdraws a member's vote.
    pub async fn delete_vote(&mut self, idea: IdeaId, user: UserId) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(sql::DELETE_VOTE)
                .bind(ws)
                .bind(idea.0)
                .bind(user.0)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Sets a member's rating of an idea on a criterion.
    pub async fn upsert_rating(
        &mut self,
        idea: IdeaId,
        criterion: CriterionId,
        user: UserId,
        value: RatingValue,
        now: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO ratings (workspace_id, idea_id, criterion_id, user_id, value, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (workspace_id, idea_id, criterion_id, user_id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            ).bind(ws).bind(idea.0).bind(criterion.0).bind(user.0).bind(i64::from(value.get())).bind(now).execute(c).await?;
        });
        Ok(())
    }

    /// Withdraws a member's rating on a criterion.
    pub async fn delete_rating(
        &mut self,
        idea: IdeaId,
        criterion: CriterionId,
        user: UserId,
    ) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(sql::DELETE_RATING)
                .bind(ws)
                .bind(idea.0)
                .bind(criterion.0)
                .bind(user.0)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    // ---- comments --------------------------------------------------------------------------

    /// Posts a comment.
    pub async fn insert_comment(
        &mut self,
        id: CommentId,
        idea: IdeaId,
        parent: Option<CommentId>,
        author: UserId,
        body: &[u8],
        now: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO comments (workspace_id, id, idea_id, parent_id, author_id, body, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
            ).bind(ws).bind(id.0).bind(idea.0).bind(parent.map(|p| p.0)).bind(author.0).bind(body).bind(now)
            .execute(c).await?;
        });
        Ok(())
    }

    /// One comment.
    pub async fn comment(&mut self, id: CommentId) -> StoreResult<Option<CommentRecord>> {
        let ws = self.ws;
        let sql = sqlx::AssertSqlSafe(format!(
            "{COMMENT_COLUMNS}WHERE c.workspace_id = $1 AND c.id = $2"
        ));
        Ok(on_conn!(self.tx, |c| sqlx::query_as(sql)
            .bind(ws)
            .bind(id.0)
            .fetch_optional(c)
            .await?))
    }

    /// A page of an idea's comments in posting order, after comment id `after`.
    pub async fn comments(
        &mut self,
        idea: IdeaId,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<CommentRecord>> {
        let ws = self.ws;
        let sql = sqlx::AssertSqlSafe(format!(
            "{COMMENT_COLUMNS}WHERE c.workspace_id = $1 AND c.idea_id = $2 AND ($3 IS NULL OR c.id > $3) ORDER BY c.id LIMIT $4"
        ));
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql)
                .bind(ws)
                .bind(idea.0)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(c)
                .await?
        }))
    }

    /// Replaces a comment's text.
    pub async fn update_comment(
        &mut self,
        id: CommentId,
        body: &[u8],
        now: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::UPDATE_COMMENT)
                .bind(ws)
                .bind(id.0)
                .bind(body)
                .bind(now)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Soft-deletes a comment (`by` = Some) or restores it.
    pub async fn set_comment_deleted(
        &mut self,
        id: CommentId,
        by: Option<UserId>,
        now: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        let at = by.map(|_| now);
        on_conn!(self.tx, |c| {
            sqlx::query(sql::SET_COMMENT_DELETED)
                .bind(ws)
                .bind(id.0)
                .bind(at)
                .bind(by.map(|u| u.0))
                .execute(c)
                .await?;
        });
        Ok(())
    }

    // ---- attachments and links -------------------------------------------------------------

    /// Records an uploaded file's metadata (the bytes go to the file store).
    pub async fn insert_attachment(&mut self, a: NewAttachment<'_>, now: i64) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO attachments (workspace_id, id, idea_id, comment_id, uploader_id, filename, content_type, size_bytes, sha256, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            ).bind(ws).bind(a.id.0).bind(a.idea.0).bind(a.comment.map(|c| c.0)).bind(a.uploader.0).bind(a.filename)
            .bind(a.content_type).bind(a.size_bytes).bind(a.sha256).bind(now).execute(c).await?;
        });
        Ok(())
    }

    /// One attachment's metadata.
    pub async fn attachment(&mut self, id: AttachmentId) -> StoreResult<Option<AttachmentRecord>> {
        let ws = self.ws;
        let sql = sqlx::AssertSqlSafe(format!(
            "{ATTACHMENT_COLUMNS}WHERE a.workspace_id = $1 AND a.id = $2"
        ));
        Ok(on_conn!(self.tx, |c| sqlx::query_as(sql)
            .bind(ws)
            .bind(id.0)
            .fetch_optional(c)
            .await?))
    }

    /// An idea's attachments (including those on its comments), oldest first.
    pub async fn attachments(&mut self, idea: IdeaId) -> StoreResult<Vec<AttachmentRecord>> {
        let ws = self.ws;
        let sql = sqlx::AssertSqlSafe(format!(
            "{ATTACHMENT_COLUMNS}WHERE a.workspace_id = $1 AND a.idea_id = $2 ORDER BY a.id"
        ));
        Ok(on_conn!(self.tx, |c| sqlx::query_as(sql)
            .bind(ws)
            .bind(idea.0)
            .fetch_all(c)
            .await?))
    }

    /// Records the size of an attachment's preview (`0 × 0`: the image cannot be previewed);
    /// false when the attachment is gone.
    pub async fn set_attachment_preview(
        &mut self,
        id: AttachmentId,
        width: i32,
        height: i32,
    ) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(
                "UPDATE attachments SET preview_width = $3, preview_height = $4 WHERE workspace_id = $1 AND id = $2",
            )
            .bind(ws)
            .bind(id.0)
            .bind(width)
            .bind(height)
            .execute(c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Deletes an attachment's metadata.
    pub async fn delete_attachment(&mut self, id: AttachmentId) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(sql::DELETE_ATTACHMENT)
                .bind(ws)
                .bind(id.0)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Adds a link.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_link(
        &mut self,
        id: LinkId,
        idea: IdeaId,
        comment: Option<CommentId>,
        url: &[u8],
        title: &[u8],
        by: UserId,
        now: i64,
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "INSERT INTO links (workspace_id, id, idea_id, comment_id, url, title, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            ).bind(ws).bind(id.0).bind(idea.0).bind(comment.map(|c| c.0)).bind(url).bind(title).bind(by.0).bind(now)
            .execute(c).await?;
        });
        Ok(())
    }

    /// One link.
    pub async fn link(&mut self, id: LinkId) -> StoreResult<Option<LinkRecord>> {
        let ws = self.ws;
        let sql = sqlx::AssertSqlSafe(format!(
            "{LINK_COLUMNS}WHERE a.workspace_id = $1 AND a.id = $2"
        ));
        Ok(on_conn!(self.tx, |c| sqlx::query_as(sql)
            .bind(ws)
            .bind(id.0)
            .fetch_optional(c)
            .await?))
    }

    /// An idea's links (including those on its comments), oldest first.
    pub async fn links(&mut self, idea: IdeaId) -> StoreResult<Vec<LinkRecord>> {
        let ws = self.ws;
        let sql = sqlx::AssertSqlSafe(format!(
            "{LINK_COLUMNS}WHERE a.workspace_id = $1 AND a.idea_id = $2 ORDER BY a.id"
        ));
        Ok(on_conn!(self.tx, |c| sqlx::query_as(sql)
            .bind(ws)
            .bind(idea.0)
            .fetch_all(c)
            .await?))
    }

    /// Deletes a link.
    pub async fn delete_link(&mut self, id: LinkId) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(sql::DELETE_LINK)
                .bind(ws)
                .bind(id.0)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    // ---- merges ----------------------------------------------------------------------------

    /// Merges `source` into `target`: the source's votes move to the target except where the
    /// voter already voted on the target, its comments move, and the source is hidden from
    /// lists. Every moved row remembers where it came from, so [`Self::unmerge`] can undo it.
    /// Returns false, changing nothing, when the source is no longer live.
    pub async fn merge(
        &mut self,
        id: MergeId,
        source: IdeaId,
        target: IdeaId,
        by: UserId,
        now: i64,
    ) -> StoreResult<bool> {
        let ws = self.ws;
        let marked = on_conn!(self.tx, |c| {
            sqlx::query(sql::MERGE)
                .bind(ws)
                .bind(source.0)
                .bind(target.0)
                .bind(now)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if marked != 1 {
            return Ok(false);
        }
        self.count_idea(source, -1).await?;
        on_conn!(self.tx, |c| {
            sqlx::query(
                "UPDATE votes SET idea_id = $3, moved_from = $2 WHERE workspace_id = $1 AND idea_id = $2 \
                 AND user_id NOT IN (SELECT t.user_id FROM votes t WHERE t.workspace_id = $1 AND t.idea_id = $3)",
            ).bind(ws).bind(source.0).bind(target.0).execute(&mut *c).await?;
            sqlx::query(sql::MERGE_2)
                .bind(ws)
                .bind(source.0)
                .bind(target.0)
                .execute(&mut *c)
                .await?;
            // Files and links on those comments go with them.
            for table in [
                "UPDATE attachments SET idea_id = $3 WHERE workspace_id = $1 AND idea_id = $2 AND comment_id IS NOT NULL",
                "UPDATE links SET idea_id = $3 WHERE workspace_id = $1 AND idea_id = $2 AND comment_id IS NOT NULL",
            ] {
                sqlx::query(table)
                    .bind(ws)
                    .bind(source.0)
                    .bind(target.0)
                    .execute(&mut *c)
                    .await?;
            }
            sqlx::query(sql::MERGE_3)
                .bind(ws)
                .bind(id.0)
                .bind(source.0)
                .bind(target.0)
                .bind(by.0)
                .bind(now)
                .execute(&mut *c)
                .await?;
        });
        Ok(true)
    }

    /// Undoes the merge of `source` into `target`: moved votes and comments go back (replies
    /// posted under moved comments since go with them) and the source is listed again.
    /// Returns false, changing nothing, when the source is no longer merged into `target`.
    pub async fn unmerge(
        &mut self,
        source: IdeaId,
        target: IdeaId,
        by: UserId,
        now: i64,
    ) -> StoreResult<bool> {
        let ws = self.ws;
        let cleared = on_conn!(self.tx, |c| {
            sqlx::query(sql::UNMERGE)
                .bind(ws)
                .bind(source.0)
                .bind(target.0)
                .bind(now)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if cleared != 1 {
            return Ok(false);
        }
        if self.idea_deleted(source).await? == Some(false) {
            self.count_idea(source, 1).await?;
        }
        on_conn!(self.tx, |c| {
            sqlx::query(sql::UNMERGE_2)
                .bind(ws)
                .bind(source.0)
                .bind(target.0)
                .execute(&mut *c)
                .await?;
            sqlx::query(sql::UNMERGE_3)
                .bind(ws)
                .bind(source.0)
                .bind(target.0)
                .execute(&mut *c)
                .await?;
            loop {
                let moved = sqlx::query(
                    "UPDATE comments SET idea_id = $2 WHERE workspace_id = $1 AND idea_id = $3 AND parent_id IN \
                     (SELECT p.id FROM comments p WHERE p.workspace_id = $1 AND p.idea_id = $2)",
                ).bind(ws).bind(source.0).bind(target.0).execute(&mut *c).await?.rows_affected();
                if moved == 0 {
                    break;
                }
            }
            for table in [
                "UPDATE attachments SET idea_id = $2 WHERE workspace_id = $1 AND idea_id = $3 AND comment_id IN \
                 (SELECT c.id FROM comments c WHERE c.workspace_id = $1 AND c.idea_id = $2)",
                "UPDATE links SET idea_id = $2 WHERE workspace_id = $1 AND idea_id = $3 AND comment_id IN \
                 (SELECT c.id FROM comments c WHERE c.workspace_id = $1 AND c.idea_id = $2)",
            ] {
                sqlx::query(table)
                    .bind(ws)
                    .bind(source.0)
                    .bind(target.0)
                    .execute(&mut *c)
                    .await?;
            }
            sqlx::query(
                "UPDATE idea_merges SET unmerged_at = $4, unmerged_by = $5 WHERE workspace_id = $1 AND source_id = $2 \
                 AND target_id = $3 AND unmerged_at IS NULL",
            ).bind(ws).bind(source.0).bind(target.0).bind(now).bind(by.0).execute(&mut *c).await?;
        });
        Ok(true)
    }

    /// How many ideas are currently merged into `idea`.
    pub async fn merged_into_count(&mut self, idea: IdeaId) -> StoreResult<i64> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_scalar(sql::MERGED_INTO_COUNT)
                .bind(ws)
                .bind(idea.0)
                .fetch_one(c)
                .await?
        }))
    }

    /// The merge history of an idea: merges into it and out of it, oldest first.
    pub async fn merges_of(&mut self, idea: IdeaId) -> StoreResult<Vec<MergeRecord>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(
                "SELECT m.id, m.source_id, m.target_id, i.summary AS source_summary, m.merged_by, m.merged_at, m.unmerged_at, \
                 i.deleted_at IS NOT NULL AS source_deleted \
                 FROM idea_merges m JOIN ideas i ON i.workspace_id = m.workspace_id AND i.id = m.source_id \
                 WHERE m.workspace_id = $1 AND (m.target_id = $2 OR m.source_id = $2) ORDER BY m.id",
            ).bind(ws).bind(idea.0).fetch_all(c).await?
        }))
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const INSERT_IDEA: &str =
        "INSERT INTO idea_tags (workspace_id, idea_id, tag_index) VALUES ($1, $2, $3)";
    pub(crate) const UPDATE_IDEA: &str = "UPDATE ideas SET summary = $3, body = $4, updated_at = $5 WHERE workspace_id = $1 AND id = $2";
    pub(crate) const UPDATE_IDEA_2: &str =
        "DELETE FROM idea_tags WHERE workspace_id = $1 AND idea_id = $2";
    pub(crate) const SET_IDEA_STAGE: &str =
        "UPDATE ideas SET stage_id = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2";
    pub(crate) const IDEA_DELETED: &str =
        "SELECT deleted_at FROM ideas WHERE workspace_id = $1 AND id = $2";
    pub(crate) const IDEA_IS_LIVE: &str = "SELECT COUNT(*) FROM ideas WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL AND merged_into IS NULL";
    pub(crate) const PG_LOCK_IDEA: &str =
        "SELECT id FROM ideas WHERE workspace_id = $1 AND id = $2 FOR UPDATE";
    pub(crate) const RECOUNT_IDEA: &str =
        "SELECT upvotes, downvotes, created_at FROM ideas WHERE workspace_id = $1 AND id = $2";
    pub(crate) const RECOUNT_IDEA_2: &str =
        "UPDATE ideas SET score = $3, hot = $4 WHERE workspace_id = $1 AND id = $2";
    pub(crate) const DELETE_VOTE: &str =
        "DELETE FROM votes WHERE workspace_id = $1 AND idea_id = $2 AND user_id = $3";
    pub(crate) const DELETE_RATING: &str = "DELETE FROM ratings WHERE workspace_id = $1 AND idea_id = $2 AND criterion_id = $3 AND user_id = $4";
    pub(crate) const UPDATE_COMMENT: &str =
        "UPDATE comments SET body = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2";
    pub(crate) const SET_COMMENT_DELETED: &str =
        "UPDATE comments SET deleted_at = $3, deleted_by = $4 WHERE workspace_id = $1 AND id = $2";
    pub(crate) const DELETE_ATTACHMENT: &str =
        "DELETE FROM attachments WHERE workspace_id = $1 AND id = $2";
    pub(crate) const DELETE_LINK: &str = "DELETE FROM links WHERE workspace_id = $1 AND id = $2";
    pub(crate) const MERGE: &str = "UPDATE ideas SET merged_into = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2 AND merged_into IS NULL AND deleted_at IS NULL";
    pub(crate) const MERGE_2: &str = "UPDATE comments SET idea_id = $3, moved_from = $2 WHERE workspace_id = $1 AND idea_id = $2";
    pub(crate) const MERGE_3: &str = "INSERT INTO idea_merges (workspace_id, id, source_id, target_id, merged_by, merged_at) VALUES ($1, $2, $3, $4, $5, $6)";
    pub(crate) const UNMERGE: &str = "UPDATE ideas SET merged_into = NULL, updated_at = $4 WHERE workspace_id = $1 AND id = $2 AND merged_into = $3";
    pub(crate) const UNMERGE_2: &str = "UPDATE votes SET idea_id = $2, moved_from = NULL WHERE workspace_id = $1 AND idea_id = $3 AND moved_from = $2";
    pub(crate) const UNMERGE_3: &str = "UPDATE comments SET idea_id = $2, moved_from = NULL WHERE workspace_id = $1 AND idea_id = $3 AND moved_from = $2";
    pub(crate) const MERGED_INTO_COUNT: &str =
        "SELECT COUNT(*) FROM ideas WHERE workspace_id = $1 AND merged_into = $2";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("INSERT_IDEA", INSERT_IDEA),
        ("UPDATE_IDEA", UPDATE_IDEA),
        ("UPDATE_IDEA_2", UPDATE_IDEA_2),
        ("SET_IDEA_STAGE", SET_IDEA_STAGE),
        ("IDEA_DELETED", IDEA_DELETED),
        ("IDEA_IS_LIVE", IDEA_IS_LIVE),
        ("PG_LOCK_IDEA", PG_LOCK_IDEA),
        ("RECOUNT_IDEA", RECOUNT_IDEA),
        ("RECOUNT_IDEA_2", RECOUNT_IDEA_2),
        ("DELETE_VOTE", DELETE_VOTE),
        ("DELETE_RATING", DELETE_RATING),
        ("UPDATE_COMMENT", UPDATE_COMMENT),
        ("SET_COMMENT_DELETED", SET_COMMENT_DELETED),
        ("DELETE_ATTACHMENT", DELETE_ATTACHMENT),
        ("DELETE_LINK", DELETE_LINK),
        ("MERGE", MERGE),
        ("MERGE_2", MERGE_2),
        ("MERGE_3", MERGE_3),
        ("UNMERGE", UNMERGE),
        ("UNMERGE_2", UNMERGE_2),
        ("UNMERGE_3", UNMERGE_3),
        ("MERGED_INTO_COUNT", MERGED_INTO_COUNT),
    ];
}
