//! Workspace export and import (LIF-01).
//!
//! An export is one gzip-compressed tar archive of documented JSON (`docs/export-format.md`):
//! the workspace, the people it refers to, its structure, and its content in numbered JSON
//! Lines chunks of at most [`CHUNK_RECORDS`] records, each attachment's bytes as
//! `files/<id>`, and last a manifest with every entry's size and SHA-256. The database is read
//! in pages from one snapshot and the archive is written as it goes, so memory stays bounded
//! whatever the size of the workspace; records come in id order and entries carry no time, so
//! the same workspace always gives the same entries.
//!
//! Import checks the whole archive against its manifest first, then recreates the workspace on
//! this instance in one transaction: people are matched to accounts by email address (or get a
//! new account without a password), everything else keeps its id, and every value is sealed
//! anew with this instance's keys. Exporting the imported workspace gives the same entries.

mod archive;
pub mod format;
mod jobs;
mod sections;

pub use jobs::{EXPORT_KEEP_DAYS, ExportJobView};

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use ideaweave_domain::ranking::hot_score;
use ideaweave_domain::*;
use ideaweave_store::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use tokio::io::AsyncWrite;
use uuid::Uuid;

use self::archive::{ArchiveWriter, MAX_CHUNK_BYTES, read_entries, verify};
use self::format::*;
use self::sections::{
    CommentRevisions, Comments, Discussions, Ideas, Links, Ratings, Section, Votes,
};
use crate::OrInternal;
use crate::platform::sealed::{Column, column};
use crate::platform::sealed::{account, at};
use crate::trust::audit::{AuditAction, AuditEvent, ClientInfo, Outcome, Target, Who};
use crate::{App, AppError, AppResult};

/// Records per JSON Lines chunk, at most.
pub const CHUNK_RECORDS: usize = 10_000;
/// Bytes per JSON Lines chunk, at most (a chunk closes at whichever limit comes first): long
/// bodies make fewer records per chunk, so memory stays bounded and every chunk stays well
/// below what an import accepts.
pub const CHUNK_BYTES: usize = 8 * 1024 * 1024;
/// Rows read from the database per statement.
const PAGE: i64 = 1_000;

/// How far an export or import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferProgress {
    /// Records (ideas, comments, votes…) done.
    pub done: u64,
    /// Records in all.
    pub total: u64,
    /// Archive bytes written or read so far.
    pub bytes: u64,
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct ExportSummary {
    /// The manifest, as written last in the archive.
    pub manifest: Manifest,
    /// The archive's size in bytes.
    pub bytes: u64,
}

/// What an import created.
#[derive(Debug, Clone)]
pub struct ImportSummary {
    /// The new workspace.
    pub workspace: WorkspaceId,
    /// Its slug.
    pub slug: String,
    /// Records of each kind.
    pub counts: BTreeMap<String, u64>,
    /// Accounts created for people this instance did not know.
    pub accounts_created: u64,
}

/// A JSON Lines entry being filled, flushed to the archive every [`CHUNK_RECORDS`] records.
struct Chunks {
    dir: &'static str,
    number: u32,
    buf: Vec<u8>,
    records: u64,
    total: u64,
}

impl Chunks {
    fn new(dir: &'static str) -> Self {
        Self {
            dir,
            number: 0,
            buf: Vec::new(),
            records: 0,
            total: 0,
        }
    }

    fn add<T: Serialize>(&mut self, record: &T) -> AppResult<()> {
        serde_json::to_writer(&mut self.buf, record).or_internal("export record")?;
        self.buf.push(b'\n');
        self.records += 1;
        self.total += 1;
        Ok(())
    }

    /// Adds a record and writes the chunk out once it is full.
    async fn push<T: Serialize, W: AsyncWrite + Unpin + Send>(
        &mut self,
        w: &mut ArchiveWriter<W>,
        record: &T,
    ) -> AppResult<()> {
        self.add(record)?;
        if self.full() {
            self.flush(w).await?;
        }
        Ok(())
    }

    fn full(&self) -> bool {
        self.records as usize >= CHUNK_RECORDS || self.buf.len() >= CHUNK_BYTES
    }

    async fn flush<W: AsyncWrite + Unpin + Send>(
        &mut self,
        w: &mut ArchiveWriter<W>,
    ) -> AppResult<()> {
        if self.records == 0 {
            return Ok(());
        }
        self.number += 1;
        let path = format!("{}/{:06}.jsonl", self.dir, self.number);
        w.entry(&path, &self.buf, Some(self.records)).await?;
        self.buf.clear();
        self.records = 0;
        Ok(())
    }
}

/// What an export has written so far: records done, per-table counts for the manifest, and
/// whom to tell.
struct Tally<'p> {
    done: u64,
    total: u64,
    counts: BTreeMap<String, u64>,
    progress: &'p (dyn Fn(TransferProgress) + Sync),
}

impl Tally<'_> {
    fn tell<W: AsyncWrite + Unpin + Send>(&self, w: &ArchiveWriter<W>) {
        (self.progress)(TransferProgress {
            done: self.done,
            total: self.total,
            bytes: w.written(),
        });
    }
}

fn jsonl<T: Serialize>(records: &[T]) -> AppResult<Vec<u8>> {
    let mut buf = Vec::new();
    for r in records {
        serde_json::to_writer(&mut buf, r).or_internal("export record")?;
        buf.push(b'\n');
    }
    Ok(buf)
}

impl App {
    /// Exports workspace `ws` to `out` (see the module documentation); `progress` is told after
    /// every page. The caller records who asked (the CLI as the operator, the web job as the
    /// admin).
    #[tracing::instrument(skip_all)]
    pub async fn export_workspace<W: AsyncWrite + Unpin + Send>(
        &self,
        ws: WorkspaceId,
        out: W,
        progress: &(dyn Fn(TransferProgress) + Sync),
    ) -> AppResult<ExportSummary> {
        let mut tx = self.store.snapshot().await?;
        let total = tx.workspace(ws).export_total().await?;
        let mut w = ArchiveWriter::new(out);
        let mut tally = Tally {
            done: 0,
            total,
            counts: BTreeMap::new(),
            progress,
        };

        let (slug, name, created_at, erasure_mode) = tx.workspace(ws).export_header().await?;
        let retention = crate::privacy::retention::stored_policy(&mut tx, ws).await?;
        let header = WorkspaceRecord {
            format: EXPORT_FORMAT.to_owned(),
            slug: slug.clone(),
            name: self.workspace_name(&mut tx, ws, &name).await?,
            created_at,
            erasure_mode,
            retention,
        };
        let mut json = serde_json::to_vec_pretty(&header).or_internal("export")?;
        json.push(b'\n');
        w.entry("workspace.json", &json, None).await?;

        let mut people = Vec::new();
        for p in tx.workspace(ws).export_people().await? {
            let user = UserId(p.id);
            let (name, email) = if p.former_member {
                (None, None)
            } else {
                (
                    Some(
                        self.open_text(&mut tx, &account(column::USERS_NAME, user), &p.name)
                            .await?,
                    ),
                    Some(
                        self.open_text(&mut tx, &account(column::USERS_EMAIL, user), &p.email)
                            .await?,
                    ),
                )
            };
            people.push(PersonRecord {
                id: p.id,
                name,
                email,
                former_member: p.former_member,
                role: p.role,
                joined_at: p.joined_at,
                notifications: p.notifications,
            });
        }
        tally
            .counts
            .insert("people".to_owned(), people.len() as u64);
        w.entry("people.jsonl", &jsonl(&people)?, Some(people.len() as u64))
            .await?;

        for (file, table, rows) in [
            (
                "stages.jsonl",
                column::STAGES_NAME,
                tx.workspace(ws).export_stages().await?,
            ),
            (
                "criteria.jsonl",
                column::RATING_CRITERIA_NAME,
                tx.workspace(ws).export_criteria().await?,
            ),
        ] {
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(NamedRecord {
                    name: self
                        .open_text(&mut tx, &at(ws, table, r.id), &r.name)
                        .await?,
                    id: r.id,
                    position: r.position,
                });
            }
            tally
                .counts
                .insert(table.table().to_owned(), out.len() as u64);
            w.entry(file, &jsonl(&out)?, Some(out.len() as u64)).await?;
        }

        let mut listed: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (space, user) in tx.workspace(ws).export_space_members().await? {
            listed.entry(space).or_default().push(user);
        }
        let mut spaces = Vec::new();
        for s in tx.workspace(ws).export_spaces().await? {
            spaces.push(SpaceRecord {
                name: self
                    .open_text(&mut tx, &at(ws, column::SPACES_NAME, s.id), &s.name)
                    .await?,
                description: self
                    .open_text(
                        &mut tx,
                        &at(ws, column::SPACES_DESCRIPTION, s.id),
                        &s.description,
                    )
                    .await?,
                members: listed.remove(&s.id).unwrap_or_default(),
                id: s.id,
                private: s.private,
                created_by: s.created_by,
                created_at: s.created_at,
            });
        }
        tally
            .counts
            .insert("spaces".to_owned(), spaces.len() as u64);
        w.entry("spaces.jsonl", &jsonl(&spaces)?, Some(spaces.len() as u64))
            .await?;

        let mut criteria_of: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (d, c) in tx.workspace(ws).export_discussion_criteria().await? {
            criteria_of.entry(d).or_default().push(c);
        }
        let mut discussions = Discussions { criteria_of };
        self.export_section(&mut discussions, &mut tx, ws, &mut w, &mut tally)
            .await?;
        self.export_section(&mut Ideas, &mut tx, ws, &mut w, &mut tally)
            .await?;
        self.export_section(&mut Comments, &mut tx, ws, &mut w, &mut tally)
            .await?;
        self.export_section(&mut CommentRevisions, &mut tx, ws, &mut w, &mut tally)
            .await?;
        self.export_section(&mut Votes, &mut tx, ws, &mut w, &mut tally)
            .await?;
        self.export_section(&mut Ratings, &mut tx, ws, &mut w, &mut tally)
            .await?;

        // Attachments: each page is one chunk, followed by the files it lists.
        let mut chunks = Chunks::new("attachments");
        let mut after = None;
        loop {
            let page = tx.workspace(ws).export_attachments(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            let mut files = Vec::new();
            for a in page {
                let place = at(ws, column::ATTACHMENTS_FILENAME, a.id);
                // The file and its name are sealed with the same key: a shredded key leaves
                // nothing to export.
                let Some(filename) = self.keyring.open_text(&mut tx, &place, &a.filename).await?
                else {
                    continue;
                };
                chunks.add(&AttachmentRecord {
                    filename,
                    sha256: self
                        .open_text(
                            &mut tx,
                            &at(ws, column::ATTACHMENTS_SHA256, a.id),
                            &a.sha256,
                        )
                        .await?,
                    id: a.id,
                    idea_id: a.idea_id,
                    comment_id: a.comment_id,
                    uploader_id: a.uploader_id,
                    content_type: a.content_type,
                    size_bytes: a.size_bytes,
                    created_at: a.created_at,
                })?;
                files.push((a.id, a.size_bytes));
                tally.done += 1;
            }
            chunks.flush(&mut w).await?;
            for (id, size) in files {
                let mut file = self
                    .open_attachment_file(&mut tx, ws, AttachmentId(id))
                    .await?
                    .ok_or_else(|| {
                        AppError::Integrity(format!("the file of attachment {id} cannot be opened"))
                    })?;
                w.begin(&format!("files/{id}"), u64::try_from(size).unwrap_or(0))
                    .await?;
                while let Some(piece) = file.next_piece().await? {
                    w.push(&piece).await?;
                }
                w.end().await?;
            }
            tally.tell(&w);
        }
        tally.counts.insert("attachments".to_owned(), chunks.total);

        self.export_section(&mut Links, &mut tx, ws, &mut w, &mut tally)
            .await?;

        let merges: Vec<MergeRecord> = tx
            .workspace(ws)
            .export_merges()
            .await?
            .into_iter()
            .map(|m| MergeRecord {
                id: m.id,
                source_id: m.source_id,
                target_id: m.target_id,
                merged_by: m.merged_by,
                merged_at: m.merged_at,
                unmerged_by: m.unmerged_by,
                unmerged_at: m.unmerged_at,
            })
            .collect();
        tally
            .counts
            .insert("merges".to_owned(), merges.len() as u64);
        w.entry("merges.jsonl", &jsonl(&merges)?, Some(merges.len() as u64))
            .await?;

        let mut invitations = Vec::new();
        for i in tx.workspace(ws).export_invitations().await? {
            invitations.push(InvitationRecord {
                email: self
                    .open_text(&mut tx, &at(ws, column::INVITATIONS_EMAIL, i.id), &i.email)
                    .await?,
                id: i.id,
                role: i.role,
                invited_by: i.invited_by,
                created_at: i.created_at,
                expires_at: i.expires_at,
                accepted_at: i.accepted_at,
                accepted_by: i.accepted_by,
                revoked_at: i.revoked_at,
            });
        }
        tally
            .counts
            .insert("invitations".to_owned(), invitations.len() as u64);
        w.entry(
            "invitations.jsonl",
            &jsonl(&invitations)?,
            Some(invitations.len() as u64),
        )
        .await?;

        let mut requests = Vec::new();
        for r in tx.workspace(ws).export_requests().await? {
            let text = |c: Column| at(ws, c, r.id);
            let mut notices = Vec::new();
            for (id, recipient, sent_at) in tx.workspace(ws).notices(r.id).await? {
                notices.push(NoticeRecord {
                    recipient: self
                        .open_text(
                            &mut tx,
                            &at(ws, column::PRIVACY_NOTICES_RECIPIENT, id),
                            &recipient,
                        )
                        .await?,
                    id,
                    sent_at,
                });
            }
            requests.push(RequestRecord {
                requester: self
                    .open_text(
                        &mut tx,
                        &text(column::PRIVACY_REQUESTS_REQUESTER),
                        &r.requester,
                    )
                    .await?,
                details: self
                    .open_text(&mut tx, &text(column::PRIVACY_REQUESTS_DETAILS), &r.details)
                    .await?,
                resolution: match &r.resolution {
                    Some(sealed) => Some(
                        self.open_text(&mut tx, &text(column::PRIVACY_REQUESTS_RESOLUTION), sealed)
                            .await?,
                    ),
                    None => None,
                },
                id: r.id,
                kind: r.kind,
                channel: r.channel,
                subject_id: r.subject_id,
                received_at: r.received_at,
                due_at: r.due_at,
                state: r.state,
                resolved_at: r.resolved_at,
                resolved_by: r.resolved_by,
                recorded_by: r.recorded_by,
                reminders: r.reminders,
                created_at: r.created_at,
                notices,
            });
        }
        tally
            .counts
            .insert("requests".to_owned(), requests.len() as u64);
        w.entry(
            "requests.jsonl",
            &jsonl(&requests)?,
            Some(requests.len() as u64),
        )
        .await?;
        drop(tx);
        tally.tell(&w);
        let (manifest, bytes) = w.finish(&slug, self.now(), tally.counts).await?;
        Ok(ExportSummary { manifest, bytes })
    }

    /// Writes one paged section (see [`sections`]): its rows page by page from the snapshot,
    /// as records in chunks, telling the progress after every page.
    async fn export_section<S: Section, W: AsyncWrite + Unpin + Send>(
        &self,
        section: &mut S,
        tx: &mut Tx,
        ws: WorkspaceId,
        w: &mut ArchiveWriter<W>,
        tally: &mut Tally<'_>,
    ) -> AppResult<()> {
        let mut chunks = Chunks::new(S::DIR);
        let mut after = None;
        loop {
            let page = S::page(&mut tx.workspace(ws), after.take(), PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(S::cursor(last));
            for row in page {
                let record = section.record(self, tx, ws, row).await?;
                chunks.push(w, &record).await?;
                tally.done += 1;
            }
            tally.tell(w);
        }
        chunks.flush(w).await?;
        tally.counts.insert(S::DIR.to_owned(), chunks.total);
        Ok(())
    }

    /// Exports workspace `slug` for the operator (`ideaweave export workspace`), recorded as
    /// `workspace.exported` in the workspace's trail.
    #[tracing::instrument(skip_all)]
    pub async fn export_workspace_by_operator<W: AsyncWrite + Unpin + Send>(
        &self,
        slug: &str,
        out: W,
        progress: &(dyn Fn(TransferProgress) + Sync),
    ) -> AppResult<ExportSummary> {
        let ws = self.workspace_id(slug).await?;
        let summary = self.export_workspace(ws, out, progress).await?;
        self.audit_operator(
            Some(ws),
            AuditAction::WorkspaceExported,
            Target::Scope,
            json!({"bytes": summary.bytes, "counts": summary.manifest.counts}),
        )
        .await?;
        Ok(summary)
    }

    /// Checks an export archive against its manifest without importing it.
    #[tracing::instrument(skip_all)]
    pub async fn verify_export(&self, path: &std::path::Path) -> AppResult<Manifest> {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&path).map_err(|e| {
                AppError::invalid("archive", format!("cannot open {}: {e}", path.display()))
            })?;
            verify(std::io::BufReader::new(file))
        })
        .await
        .or_internal("verification task")?
    }

    /// Imports the archive at `path` as a new workspace (named `slug`, or the exported slug).
    /// The archive is checked whole against its manifest first; then everything is created in
    /// one transaction, so a failure leaves nothing behind (files written so far are removed).
    #[tracing::instrument(skip_all)]
    pub async fn import_workspace(
        &self,
        path: &std::path::Path,
        slug: Option<&str>,
        progress: &(dyn Fn(TransferProgress) + Sync),
    ) -> AppResult<ImportSummary> {
        let manifest = self.verify_export(path).await?;
        let total: u64 = manifest
            .counts
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "people" | "stages" | "rating_criteria"))
            .map(|(_, v)| *v)
            .sum();
        // The archive is read on a blocking thread and handed over entry piece by entry piece
        // through a small bounded channel: memory stays bounded whatever the size.
        let (send, mut recv) = tokio::sync::mpsc::channel::<Piece>(2);
        let file_path = path.to_owned();
        let reader = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&file_path).map_err(|e| {
                AppError::invalid(
                    "archive",
                    format!("cannot open {}: {e}", file_path.display()),
                )
            })?;
            read_entries(std::io::BufReader::new(file), |p, size, r| {
                feed(&send, p, size, r)
            })
        });
        let mut state = Importer::new(self, slug, total);
        let result = async {
            while let Some(piece) = recv.recv().await {
                state.take(piece, progress).await?;
            }
            state.finish().await
        }
        .await;
        // A failed import stops reading: the reading thread's next hand-over fails and it ends.
        drop(recv);
        let read = reader.await.or_internal("archive reader")?;
        match (result, read) {
            (Ok(summary), Ok(())) => Ok(summary),
            (Err(e), _) | (Ok(_), Err(e)) => {
                for key in state.written_files() {
                    if let Err(err) = self.files.delete(&key).await {
                        tracing::warn!(%key, error = %err, "could not remove a file of a failed import");
                    }
                }
                Err(e)
            }
        }
    }
}

/// A piece of the archive handed from the reading thread to the importer.
enum Piece {
    /// A whole JSON entry (records or the workspace).
    Entry(String, Vec<u8>),
    /// The start of a file of this many bytes.
    FileStart(Uuid, u64),
    /// Bytes of the current file.
    FileBytes(Vec<u8>),
    /// The end of the current file.
    FileEnd,
}

fn feed(
    send: &tokio::sync::mpsc::Sender<Piece>,
    path: &str,
    size: u64,
    r: &mut dyn Read,
) -> AppResult<()> {
    let closed = || AppError::internal("the import stopped reading the archive");
    if let Some(id) = path.strip_prefix("files/") {
        let id = Uuid::parse_str(id).map_err(|_| AppError::invalid("archive", "bad file name"))?;
        send.blocking_send(Piece::FileStart(id, size))
            .map_err(|_| closed())?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = r
                .read(&mut buf)
                .map_err(|e| AppError::invalid("archive", format!("damaged archive: {e}")))?;
            if n == 0 {
                break;
            }
            send.blocking_send(Piece::FileBytes(buf[..n].to_vec()))
                .map_err(|_| closed())?;
        }
        return send.blocking_send(Piece::FileEnd).map_err(|_| closed());
    }
    if size > MAX_CHUNK_BYTES {
        return Err(AppError::invalid(
            "archive",
            format!("{path} is larger than any entry this format produces"),
        ));
    }
    let mut buf = Vec::with_capacity(size as usize);
    r.read_to_end(&mut buf)
        .map_err(|e| AppError::invalid("archive", format!("damaged archive: {e}")))?;
    send.blocking_send(Piece::Entry(path.to_owned(), buf))
        .map_err(|_| closed())
}

fn records<T: DeserializeOwned>(path: &str, data: &[u8]) -> AppResult<Vec<T>> {
    data.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(n, line)| {
            serde_json::from_slice(line)
                .map_err(|e| AppError::invalid("archive", format!("{path}, line {}: {e}", n + 1)))
        })
        .collect()
}

/// An import in progress: the transaction, and what was created so far.
struct Importer<'a> {
    app: &'a App,
    slug: Option<String>,
    tx: Option<Tx>,
    ws: Option<WorkspaceId>,
    /// Exported person id → the id here.
    people: HashMap<Uuid, Uuid>,
    /// Whether people.jsonl was read (it comes before any content).
    people_seen: bool,
    counts: BTreeMap<String, u64>,
    accounts_created: u64,
    done: u64,
    total: u64,
    /// Attachments whose file must follow.
    pending_files: HashMap<Uuid, ExpectedFile>,
    /// The file being written.
    file: Option<OpenFile>,
    written: Vec<String>,
}

/// What an attachment record says its file is.
struct ExpectedFile {
    uploader: Uuid,
    sha256: String,
    size: i64,
    content_type: String,
}

struct OpenFile {
    id: Uuid,
    writer: Box<dyn FileWriter>,
    sealer: ideaweave_crypto::StreamSealer,
    sha: sha2::Sha256,
    /// The first bytes, to decide the type from the content as an upload does.
    head: Vec<u8>,
    /// For text, the whole file is checked as an upload's is.
    text: Option<ideaweave_domain::attachment::TextCheck>,
    expected: ExpectedFile,
}

impl<'a> Importer<'a> {
    fn new(app: &'a App, slug: Option<&str>, total: u64) -> Self {
        Self {
            app,
            slug: slug.map(str::to_owned),
            tx: None,
            ws: None,
            people: HashMap::new(),
            people_seen: false,
            counts: BTreeMap::new(),
            accounts_created: 0,
            done: 0,
            total,
            pending_files: HashMap::new(),
            file: None,
            written: Vec::new(),
        }
    }

    fn written_files(&self) -> Vec<String> {
        self.written.clone()
    }

    fn parts(&mut self) -> AppResult<(&mut Tx, WorkspaceId)> {
        match (self.tx.as_mut(), self.ws) {
            (Some(tx), Some(ws)) => Ok((tx, ws)),
            _ => Err(AppError::invalid(
                "archive",
                "workspace.json must come first",
            )),
        }
    }

    /// The id here of a person the archive names in a column that must name one of its
    /// people (an author, voter, uploader): anyone else is refused, so that an archive cannot
    /// attribute content to an account of this instance it does not list.
    fn listed(&self, id: Uuid) -> AppResult<Uuid> {
        if !self.people_seen {
            return Err(AppError::invalid(
                "archive",
                "people.jsonl must come before the content that refers to people",
            ));
        }
        self.people.get(&id).copied().ok_or_else(|| {
            AppError::invalid(
                "archive",
                format!(
                    "{id} is named as an author, voter, uploader or in a request but is not in \
                     people.jsonl"
                ),
            )
        })
    }

    fn count(&mut self, kind: &str, n: usize) {
        *self.counts.entry(kind.to_owned()).or_default() += n as u64;
    }

    async fn take(
        &mut self,
        piece: Piece,
        progress: &(dyn Fn(TransferProgress) + Sync),
    ) -> AppResult<()> {
        match piece {
            Piece::Entry(path, data) => {
                self.entry(&path, &data).await?;
                progress(TransferProgress {
                    done: self.done,
                    total: self.total,
                    bytes: 0,
                });
            }
            Piece::FileStart(id, size) => {
                let expected = self.pending_files.remove(&id).ok_or_else(|| {
                    AppError::invalid("archive", format!("files/{id} belongs to no attachment"))
                })?;
                if i64::try_from(size).ok() != Some(expected.size) {
                    return Err(AppError::invalid(
                        "archive",
                        format!(
                            "files/{id} has {size} bytes, its attachment records {}",
                            expected.size
                        ),
                    ));
                }
                let uploader = expected.uploader;
                let app = self.app;
                let (tx, ws) = self.parts()?;
                let key = app
                    .keyring
                    .data_key(&mut tx.workspace(ws), Some(UserId(uploader)), app.now())
                    .await?;
                let (writer, sealer) = app
                    .create_attachment_file(ws, AttachmentId(id), &key)
                    .await?;
                self.written
                    .push(crate::content::files::storage_key(ws, AttachmentId(id)));
                self.file = Some(OpenFile {
                    id,
                    writer,
                    sealer,
                    sha: <sha2::Sha256 as sha2::Digest>::new(),
                    head: Vec::new(),
                    text: expected
                        .content_type
                        .starts_with("text/")
                        .then(ideaweave_domain::attachment::TextCheck::default),
                    expected,
                });
            }
            Piece::FileBytes(bytes) => {
                let f = self
                    .file
                    .as_mut()
                    .ok_or_else(|| AppError::internal("file bytes outside a file"))?;
                sha2::Digest::update(&mut f.sha, &bytes);
                if let Some(t) = f.text.as_mut() {
                    t.feed(&bytes).map_err(|e| {
                        AppError::invalid("archive", format!("files/{}: {e}", f.id))
                    })?;
                }
                let room = ideaweave_domain::attachment::SNIFF_WINDOW.saturating_sub(f.head.len());
                f.head.extend_from_slice(&bytes[..room.min(bytes.len())]);
                let sealed = f.sealer.push(&bytes)?;
                f.writer.write(&sealed).await?;
            }
            Piece::FileEnd => {
                let mut f = self
                    .file
                    .take()
                    .ok_or_else(|| AppError::internal("file end outside a file"))?;
                if let Some(t) = f.text.take() {
                    t.finish().map_err(|e| {
                        AppError::invalid("archive", format!("files/{}: {e}", f.id))
                    })?;
                }
                let got = hex::encode(sha2::Digest::finalize(f.sha));
                // Served with the stored type: it must be what the bytes are, as for an upload.
                let sniffed = ideaweave_domain::attachment::sniff(&f.head)
                    .map_err(|e| AppError::invalid("archive", format!("files/{}: {e}", f.id)))?;
                if sniffed.mime != f.expected.content_type {
                    return Err(AppError::invalid(
                        "archive",
                        format!(
                            "files/{} is {}, not the {} its attachment records",
                            f.id, sniffed.mime, f.expected.content_type
                        ),
                    ));
                }
                if got != f.expected.sha256 {
                    return Err(AppError::invalid(
                        "archive",
                        format!(
                            "files/{} does not match the SHA-256 its attachment records",
                            f.id
                        ),
                    ));
                }
                let last = f.sealer.finish()?;
                f.writer.write(&last).await?;
                f.writer.commit().await?;
            }
        }
        Ok(())
    }

    /// Imports one chunk of a paged section (see [`sections`]).
    async fn import_section<S: Section>(&mut self, path: &str, data: &[u8]) -> AppResult<()> {
        let rows: Vec<S::Record> = records(path, data)?;
        self.count(S::DIR, rows.len());
        self.done += rows.len() as u64;
        S::import(self, rows).await
    }

    async fn entry(&mut self, path: &str, data: &[u8]) -> AppResult<()> {
        let app = self.app;
        let now = app.now();
        let dir = path.split_once('/').map_or(path, |(d, _)| d);
        match dir {
            "workspace.json" => {
                let w: WorkspaceRecord = serde_json::from_slice(data)
                    .map_err(|e| AppError::invalid("archive", format!("workspace.json: {e}")))?;
                let slug = Slug::parse(self.slug.as_deref().unwrap_or(&w.slug))?;
                let name = WorkspaceName::parse(&w.name)?;
                let mode: ErasureMode = w
                    .erasure_mode
                    .parse()
                    .map_err(|e: String| AppError::invalid("erasure_mode", e))?;
                let policy = w.retention.validated()?;
                let mut tx = app.store.begin().await?;
                if tx.workspace_by_slug(slug.as_str()).await?.is_some() {
                    return Err(AppError::Conflict(format!(
                        "a workspace with slug {slug} already exists here; import under another slug"
                    )));
                }
                let ws = WorkspaceId::new();
                tx.insert_workspace(ws, &slug, now).await?;
                let mut repo = tx.workspace(ws);
                app.keyring.init_workspace(&mut repo, now).await?;
                let key = app.keyring.data_key(&mut repo, None, now).await?;
                repo.rename(&key.seal_text(ws, column::WORKSPACES_NAME, ws.0, name.as_str())?)
                    .await?;
                repo.import_header(w.created_at, mode.as_str()).await?;
                repo.set_retention_policy(
                    i64::from(policy.activity_days),
                    i64::from(policy.deleted_days),
                    i64::from(policy.invitation_days),
                    now,
                )
                .await?;
                self.slug = Some(slug.as_str().to_owned());
                self.tx = Some(tx);
                self.ws = Some(ws);
            }
            "people.jsonl" => {
                if self.people_seen {
                    return Err(AppError::invalid("archive", "people.jsonl appears twice"));
                }
                self.people_seen = true;
                let people: Vec<PersonRecord> = records(path, data)?;
                self.count("people", people.len());
                for p in people {
                    let here = self.import_person(&p).await?;
                    self.people.insert(p.id, here);
                    if let (Some(role), Some(joined)) = (&p.role, p.joined_at) {
                        role.parse::<Role>()
                            .map_err(|e| AppError::invalid("role", e))?;
                        if let Some(n) = &p.notifications {
                            n.parse::<NotificationPreference>()
                                .map_err(|e| AppError::invalid("notifications", e))?;
                        }
                        let (tx, ws) = self.parts()?;
                        tx.workspace(ws)
                            .import_member(here, role, joined, p.notifications.as_deref())
                            .await?;
                    }
                }
            }
            "stages.jsonl" | "criteria.jsonl" => {
                let criteria = dir == "criteria.jsonl";
                let rows: Vec<NamedRecord> = records(path, data)?;
                self.count(
                    if criteria {
                        "rating_criteria"
                    } else {
                        "stages"
                    },
                    rows.len(),
                );
                let (tx, ws) = self.parts()?;
                let key = app
                    .keyring
                    .data_key(&mut tx.workspace(ws), None, now)
                    .await?;
                let table = if criteria {
                    column::RATING_CRITERIA_NAME
                } else {
                    column::STAGES_NAME
                };
                if !criteria {
                    tx.workspace(ws).import_clear_stages().await?;
                }
                for r in rows {
                    let name = key.seal_text(ws, table, r.id, &r.name)?;
                    tx.workspace(ws)
                        .import_named(
                            criteria,
                            &NamedRow {
                                id: r.id,
                                name,
                                position: r.position,
                            },
                        )
                        .await?;
                }
            }
            "spaces.jsonl" => {
                let rows: Vec<SpaceRecord> = records(path, data)?;
                self.count("spaces", rows.len());
                let people = self.people.clone();
                let (tx, ws) = self.parts()?;
                let key = app
                    .keyring
                    .data_key(&mut tx.workspace(ws), None, now)
                    .await?;
                for s in rows {
                    let row = SpaceRow {
                        id: s.id,
                        name: key.seal_text(ws, column::SPACES_NAME, s.id, &s.name)?,
                        description: key.seal_text(
                            ws,
                            column::SPACES_DESCRIPTION,
                            s.id,
                            &s.description,
                        )?,
                        private: s.private,
                        created_by: map(&people, s.created_by),
                        created_at: s.created_at,
                    };
                    let mut repo = tx.workspace(ws);
                    repo.import_space(&row).await?;
                    for u in s.members {
                        repo.import_space_member(s.id, map(&people, u)).await?;
                    }
                }
            }
            Discussions::DIR => self.import_section::<Discussions>(path, data).await?,
            Ideas::DIR => self.import_section::<Ideas>(path, data).await?,
            Comments::DIR => self.import_section::<Comments>(path, data).await?,
            CommentRevisions::DIR => self.import_section::<CommentRevisions>(path, data).await?,
            Votes::DIR => self.import_section::<Votes>(path, data).await?,
            Ratings::DIR => self.import_section::<Ratings>(path, data).await?,
            "attachments" => {
                let rows: Vec<AttachmentRecord> = records(path, data)?;
                self.count("attachments", rows.len());
                self.done += rows.len() as u64;
                let uploaders = rows
                    .iter()
                    .map(|a| self.listed(a.uploader_id))
                    .collect::<AppResult<Vec<_>>>()?;
                let limit = app.settings.max_upload_bytes;
                let (tx, ws) = self.parts()?;
                let mut expected = Vec::new();
                for (a, uploader) in rows.into_iter().zip(uploaders) {
                    if usize::try_from(a.size_bytes).map_or(true, |n| n > limit) {
                        return Err(AppError::invalid(
                            "archive",
                            format!(
                                "attachment {} is larger than this instance accepts ({limit} bytes)",
                                a.id
                            ),
                        ));
                    }
                    let key = app
                        .keyring
                        .data_key(&mut tx.workspace(ws), Some(UserId(uploader)), now)
                        .await?;
                    let name = FileName::parse(&a.filename)?;
                    let row = AttachmentRow {
                        id: a.id,
                        idea_id: a.idea_id,
                        comment_id: a.comment_id,
                        uploader_id: uploader,
                        filename: key.seal_text(
                            ws,
                            column::ATTACHMENTS_FILENAME,
                            a.id,
                            name.as_str(),
                        )?,
                        content_type: a.content_type.clone(),
                        size_bytes: a.size_bytes,
                        sha256: key.seal_text(ws, column::ATTACHMENTS_SHA256, a.id, &a.sha256)?,
                        created_at: a.created_at,
                    };
                    tx.workspace(ws).import_attachment(&row).await?;
                    expected.push((
                        a.id,
                        ExpectedFile {
                            uploader,
                            sha256: a.sha256,
                            size: a.size_bytes,
                            content_type: a.content_type,
                        },
                    ));
                }
                self.pending_files.extend(expected);
            }
            Links::DIR => self.import_section::<Links>(path, data).await?,
            "merges.jsonl" => {
                let rows: Vec<MergeRecord> = records(path, data)?;
                self.count("merges", rows.len());
                let people = self.people.clone();
                let (tx, ws) = self.parts()?;
                for m in rows {
                    tx.workspace(ws)
                        .import_merge(&MergeRow {
                            id: m.id,
                            source_id: m.source_id,
                            target_id: m.target_id,
                            merged_by: map(&people, m.merged_by),
                            merged_at: m.merged_at,
                            unmerged_by: m.unmerged_by.map(|u| map(&people, u)),
                            unmerged_at: m.unmerged_at,
                        })
                        .await?;
                }
            }
            "invitations.jsonl" => {
                let rows: Vec<InvitationRecord> = records(path, data)?;
                self.count("invitations", rows.len());
                let people = self.people.clone();
                let (tx, ws) = self.parts()?;
                let key = app
                    .keyring
                    .data_key(&mut tx.workspace(ws), None, now)
                    .await?;
                for i in rows {
                    i.role
                        .parse::<Role>()
                        .map_err(|e| AppError::invalid("role", e))?;
                    // The link of the old instance does not work here: the stored hash is of a
                    // random secret nobody holds.
                    let (_, unusable) = crate::platform::secrets::workspace_secret("iwi", ws)?;
                    let row = InvitationRow {
                        id: i.id,
                        email: key.seal_text(ws, column::INVITATIONS_EMAIL, i.id, &i.email)?,
                        role: i.role,
                        invited_by: map(&people, i.invited_by),
                        created_at: i.created_at,
                        expires_at: i.expires_at,
                        accepted_at: i.accepted_at,
                        accepted_by: i.accepted_by.map(|u| map(&people, u)),
                        revoked_at: i.revoked_at,
                    };
                    tx.workspace(ws).import_invitation(&row, &unusable).await?;
                }
            }
            "requests.jsonl" => {
                let rows: Vec<RequestRecord> = records(path, data)?;
                self.count("requests", rows.len());
                let mut named = Vec::with_capacity(rows.len());
                for r in &rows {
                    named.push((
                        r.subject_id.map(|u| self.listed(u)).transpose()?,
                        r.resolved_by.map(|u| self.listed(u)).transpose()?,
                        r.recorded_by.map(|u| self.listed(u)).transpose()?,
                    ));
                }
                let (tx, ws) = self.parts()?;
                let key = app
                    .keyring
                    .data_key(&mut tx.workspace(ws), None, now)
                    .await?;
                for (r, (subject_id, resolved_by, recorded_by)) in rows.into_iter().zip(named) {
                    r.kind
                        .parse::<RequestKind>()
                        .map_err(|e| AppError::invalid("kind", e))?;
                    r.channel
                        .parse::<RequestChannel>()
                        .map_err(|e| AppError::invalid("channel", e))?;
                    let state = r
                        .state
                        .parse::<RequestState>()
                        .map_err(|e| AppError::invalid("state", e))?;
                    if (state == RequestState::Open) != r.resolution.is_none()
                        || !(0..=2).contains(&r.reminders)
                    {
                        return Err(AppError::invalid(
                            "requests",
                            format!(
                                "request {} is not consistent (state, answer, reminders)",
                                r.id
                            ),
                        ));
                    }
                    let seal = |c: Column, text: &str| key.seal_text(ws, c, r.id, text);
                    let row = RequestRow {
                        id: r.id,
                        requester: seal(column::PRIVACY_REQUESTS_REQUESTER, &r.requester)?,
                        details: seal(column::PRIVACY_REQUESTS_DETAILS, &r.details)?,
                        resolution: r
                            .resolution
                            .as_deref()
                            .map(|t| seal(column::PRIVACY_REQUESTS_RESOLUTION, t))
                            .transpose()?,
                        kind: r.kind,
                        channel: r.channel,
                        subject_id,
                        received_at: r.received_at,
                        due_at: r.due_at,
                        state: r.state,
                        resolved_at: r.resolved_at,
                        resolved_by,
                        recorded_by,
                        reminders: r.reminders,
                        created_at: r.created_at,
                    };
                    tx.workspace(ws).import_request(&row).await?;
                    for n in r.notices {
                        let recipient = key.seal_text(
                            ws,
                            column::PRIVACY_NOTICES_RECIPIENT,
                            n.id,
                            &n.recipient,
                        )?;
                        tx.workspace(ws)
                            .insert_notice(r.id, n.id, &recipient, n.sent_at)
                            .await?;
                    }
                }
            }
            "manifest.json" => {}
            other => {
                return Err(AppError::invalid(
                    "archive",
                    format!("unexpected entry {other}"),
                ));
            }
        }
        Ok(())
    }

    /// The account here for an exported person: the one with their address if it exists,
    /// otherwise a new one (keeping their id when it is free); a former member stays one.
    async fn import_person(&mut self, p: &PersonRecord) -> AppResult<Uuid> {
        let app = self.app;
        let now = app.now();
        let (tx, ws) = self.parts()?;
        let id = if tx.user_id_taken(p.id).await? {
            Uuid::now_v7()
        } else {
            p.id
        };
        if p.former_member {
            let mut index = [0u8; 32];
            getrandom::fill(&mut index).or_internal("randomness")?;
            tx.insert_former_member(UserId(id), ws, &index, now).await?;
            return Ok(id);
        }
        let email = Email::parse(p.email.as_deref().unwrap_or_default())?;
        if let Some(existing) = tx
            .user_by_email_index(&app.keyring.email_index(&email)?)
            .await?
        {
            return Ok(existing.id.0);
        }
        let name = PersonName::parse(p.name.as_deref().unwrap_or_default())?;
        app.insert_account_in(tx, UserId(id), &email, &name, None, false)
            .await?;
        self.accounts_created += 1;
        Ok(id)
    }

    async fn finish(&mut self) -> AppResult<ImportSummary> {
        if let Some(id) = self.pending_files.keys().next() {
            return Err(AppError::invalid(
                "archive",
                format!("the file of attachment {id} is missing"),
            ));
        }
        let app = self.app;
        let slug = self.slug.clone().unwrap_or_default();
        let counts = self.counts.clone();
        let accounts_created = self.accounts_created;
        let (tx, ws) = self.parts()?;
        let mut repo = tx.workspace(ws);
        if let Some(what) = repo.import_dangling_reference().await? {
            return Err(AppError::invalid(
                "archive",
                format!("{what} refers to something the archive does not hold"),
            ));
        }
        for (id, score, created) in repo.import_recount().await? {
            repo.import_hot(id, hot_score(score, created)).await?;
        }
        app.audit(
            tx,
            AuditEvent {
                workspace: Some(ws),
                actor: Who::Operator,
                action: AuditAction::WorkspaceImported,
                target: Target::Scope,
                outcome: Outcome::Success,
                client: &ClientInfo::console(),
                facts: json!({"counts": counts, "accounts_created": accounts_created}),
            },
        )
        .await?;
        let tx = self
            .tx
            .take()
            .ok_or_else(|| AppError::internal("import without a transaction"))?;
        tx.commit().await?;
        Ok(ImportSummary {
            workspace: ws,
            slug,
            counts,
            accounts_created,
        })
    }
}

fn map(people: &HashMap<Uuid, Uuid>, id: Uuid) -> Uuid {
    people.get(&id).copied().unwrap_or(id)
}
