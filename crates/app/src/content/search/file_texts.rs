//! The text inside uploaded files, for their search documents (COL-05).
//!
//! A file's document is first made from its name (in `documents.rs`, within the read
//! transaction of its batch); its text is added here afterwards, outside any transaction, since
//! reading it may take seconds: the file is opened from the file store in memory and handed to
//! the text reader, a child process with limits (`ideaweave_extract`). What the reader says
//! is recorded: read, or unreadable and why. A file recorded as unreadable is found by its name
//! only and not read again, so a hostile file costs one bounded attempt, not one per rebuild
//! (`ideaweave search files --retry` reads them again, after limits were raised).
//!
//! Trouble that is not the file's own never stops the workspace's indexing: a file missing
//! from the file store, unreadable there or altered there is indexed by name and not recorded
//! (a rebuild tries it again), and a reader that
//! cannot be started on this node is recorded as [`READER_UNAVAILABLE`] (read again at the next
//! rebuild or retry) while the rest of the batch is indexed.

use ideaweave_domain::markdown::plain_text;
use ideaweave_domain::{AttachmentId, WorkspaceId};
use ideaweave_extract::{ExtractError, Format, Unreadable};
use ideaweave_search::{Change, Kind};
use ideaweave_store::{FileStoreError, SearchFileMeta};

use crate::content::files::storage_key;
use crate::platform::sealed::column;
use crate::{App, AppError, AppResult};

/// The recorded reason when the reader could not be run on the node: not the file's fault.
pub const READER_UNAVAILABLE: &str = "reader_unavailable";
/// How often the writer's lease is renewed while one file is read.
const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// What reading one file's text came to.
enum FileText {
    Read(String),
    Unreadable(Unreadable),
    /// The reader could not be run here.
    NoReader,
    /// Nothing to record: not a format whose text is read, already known unreadable, or its
    /// key shredded or its stored bytes altered (not the file's fault).
    Skipped,
}

/// What became of reading one file's text, for `ideaweave search files`: nothing of the file
/// but its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileTextOutcome {
    pub attachment: AttachmentId,
    /// Why it could not be read (an [`Unreadable`] code); `None` when it was read.
    pub unreadable: Option<String>,
    /// Bytes of text read.
    pub text_bytes: u64,
    /// Unix milliseconds of the attempt.
    pub checked_at: i64,
}

impl App {
    /// What became of reading the text of `ws`'s files, unreadable ones first (an operator's
    /// view: ids and reasons only).
    #[tracing::instrument(skip(self))]
    pub async fn search_file_texts(&self, ws: WorkspaceId) -> AppResult<Vec<FileTextOutcome>> {
        let rows = self
            .store
            .read()
            .await?
            .workspace(ws)
            .file_text_records()
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| FileTextOutcome {
                attachment: AttachmentId(r.attachment_id),
                unreadable: r.reason,
                text_bytes: u64::try_from(r.text_bytes).unwrap_or(0),
                checked_at: r.checked_at,
            })
            .collect())
    }

    /// Forgets which of `ws`'s files could not be read and queues them to be read again (after
    /// the operator raised a limit or fixed the node); how many.
    #[tracing::instrument(skip(self))]
    pub async fn retry_unreadable_files(&self, ws: WorkspaceId) -> AppResult<u64> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let n = tx.workspace(ws).retry_unreadable_files(now / 1000).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Adds the text inside each file of `changes` to its document. Renews `writer`'s lease
    /// after each file, since a batch of slow files may take minutes.
    pub(super) async fn add_file_texts(
        &self,
        ws: WorkspaceId,
        writer: &str,
        changes: &mut [Change],
    ) -> AppResult<()> {
        let Some(extractor) = self.settings.text_extractor.clone() else {
            return Ok(());
        };
        for change in changes.iter_mut() {
            let Change::Put(doc) = change else { continue };
            if doc.kind != Kind::File {
                continue;
            }
            let meta = {
                let mut tx = self.store.read().await?;
                tx.workspace(ws).search_file_meta(doc.id).await?
            };
            let Some(meta) = meta else { continue };
            // Reading may take long: the lease is renewed meanwhile, so no other node takes
            // the index over.
            let reading = self.read_file_text(ws, &meta, &extractor);
            tokio::pin!(reading);
            let mut renew = tokio::time::interval(RENEW_EVERY);
            renew.tick().await;
            let read = loop {
                tokio::select! {
                    read = &mut reading => break read?,
                    _ = renew.tick() => self.renew_search_lease(ws, writer).await?,
                }
            };
            let recorded = match &read {
                FileText::Read(text) => Some((None, text.len())),
                FileText::Unreadable(why) => Some((Some(why.code()), 0)),
                FileText::NoReader => Some((Some(READER_UNAVAILABLE), 0)),
                FileText::Skipped => None,
            };
            if let Some((reason, len)) = recorded {
                let now = self.now();
                let mut tx = self.store.begin().await?;
                tx.workspace(ws)
                    .record_file_text(doc.id, reason, len as i64, now)
                    .await?;
                tx.commit().await?;
            }
            if let FileText::Read(text) = read {
                doc.body = if is_markdown(&doc.title) {
                    plain_text(&text)
                } else {
                    text
                };
            }
            self.renew_search_lease(ws, writer).await?;
        }
        Ok(())
    }

    /// Reads one file's text, in the child process.
    async fn read_file_text(
        &self,
        ws: WorkspaceId,
        meta: &SearchFileMeta,
        extractor: &ideaweave_extract::Extractor,
    ) -> AppResult<FileText> {
        let Some(format) = Format::of_media_type(&meta.content_type) else {
            return Ok(FileText::Skipped);
        };
        if meta.outcome.as_deref() == Some("unreadable")
            && meta.reason.as_deref() != Some(READER_UNAVAILABLE)
        {
            return Ok(FileText::Skipped);
        }
        let max = extractor.max_input_bytes();
        if u64::try_from(meta.size_bytes).unwrap_or(u64::MAX) > max {
            return Ok(FileText::Unreadable(Unreadable::TooLarge));
        }
        let id = AttachmentId(meta.id);
        let not_the_files_fault = |why: &dyn std::fmt::Display| {
            tracing::warn!(
                attachment = %meta.id,
                %why,
                "a stored file could not be opened; it is found by its name only"
            );
            Ok(FileText::Skipped)
        };
        let reader = match self.files.open(&storage_key(ws, id)).await {
            Ok(r) => r,
            // Deleted meanwhile, lost, or unreadable where it is stored: found by its name
            // (a rebuild tries again).
            Err(e @ (FileStoreError::NotFound(_) | FileStoreError::Io(_))) => {
                return not_the_files_fault(&e);
            }
            Err(e) => return Err(e.into()),
        };
        let file = {
            let mut tx = self.store.read().await?;
            match self
                .open_sealed_reader(&mut tx, reader, ws, meta.id, column::ATTACHMENTS_FILE)
                .await
            {
                Ok(f) => f,
                Err(AppError::Integrity(why)) => return not_the_files_fault(&why),
                Err(e) => return Err(e),
            }
        };
        // Its key was shredded: it is gone for search too.
        let Some(mut file) = file else {
            return Ok(FileText::Skipped);
        };
        let mut bytes = Vec::new();
        loop {
            match file.next_piece().await {
                Ok(Some(piece)) => {
                    if (bytes.len() + piece.len()) as u64 > max {
                        return Ok(FileText::Unreadable(Unreadable::TooLarge));
                    }
                    bytes.extend_from_slice(&piece);
                }
                Ok(None) => break,
                // Altered, or failing where it is stored: not the text's to decide.
                Err(e) => return not_the_files_fault(&e),
            }
        }
        match extractor.extract(bytes, format).await {
            Ok(text) => Ok(FileText::Read(text)),
            Err(ExtractError::Unreadable(why)) => {
                tracing::info!(
                    attachment = %meta.id,
                    reason = why.code(),
                    "a file's text could not be read; it is found by its name only"
                );
                Ok(FileText::Unreadable(why))
            }
            Err(e @ ExtractError::Start(_)) => {
                tracing::error!(
                    error = %e,
                    "the reader of files' text cannot run on this node; files are found by \
                     their names until it can (ideaweave search files --retry)"
                );
                Ok(FileText::NoReader)
            }
        }
    }
}

/// Markdown is indexed as its words: a `.md` or `.markdown` name (its type says only text).
fn is_markdown(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".md") || lower.ends_with(".markdown")
}
