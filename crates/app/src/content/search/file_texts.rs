//! The text inside uploaded files, for their search documents (COL-05).
//!
//! A file's document is first made from its name (in `documents.rs`, within the read
//! transaction of its batch); its text is added here afterwards, outside any transaction, since
//! reading it may take seconds: the file is opened from the file store in memory and handed to
//! the text reader, a child process with limits (`ideaweave_extract`). What the reader says
//! is recorded: read, or unreadable and why. A file recorded as unreadable is found by its name
//! only and not read again, so a hostile file costs one bounded attempt, not one per rebuild.

use ideaweave_domain::markdown::plain_text;
use ideaweave_domain::{AttachmentId, WorkspaceId};
use ideaweave_extract::{ExtractError, Format, Unreadable};
use ideaweave_search::{Change, Kind};
use ideaweave_store::SearchFileMeta;

use crate::{App, AppError, AppResult};

/// What reading one file's text came to.
enum FileText {
    Read(String),
    Unreadable(Unreadable),
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
            let read = self.read_file_text(ws, &meta, &extractor).await?;
            let recorded = match &read {
                FileText::Read(text) => Some((None, text.len())),
                FileText::Unreadable(why) => Some((Some(why.code()), 0)),
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
        if meta.outcome.as_deref() == Some("unreadable") {
            return Ok(FileText::Skipped);
        }
        let max = extractor.max_input_bytes();
        if u64::try_from(meta.size_bytes).unwrap_or(u64::MAX) > max {
            return Ok(FileText::Unreadable(Unreadable::TooLarge));
        }
        let file = {
            let mut tx = self.store.read().await?;
            self.open_attachment_file(&mut tx, ws, AttachmentId(meta.id))
                .await?
        };
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
                Err(AppError::Integrity(why)) => {
                    tracing::warn!(
                        attachment = %meta.id,
                        %why,
                        "a stored file failed its integrity check; it is found by its name only"
                    );
                    return Ok(FileText::Skipped);
                }
                Err(e) => return Err(e),
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
            Err(e @ ExtractError::Start(_)) => Err(AppError::internal_from(
                "starting the reader of files' text",
                e,
            )),
        }
    }
}

/// Markdown is indexed as its words: a `.md` or `.markdown` name (its type says only text).
fn is_markdown(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".md") || lower.ends_with(".markdown")
}
