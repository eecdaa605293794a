//! Attachments and links on ideas and comments.

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use ideaweave_crypto::{STREAM_BLOCK, STREAM_HEADER_LEN, StreamOpener};
use ideaweave_domain::attachment::{SNIFF_WINDOW, TextCheck, UploadRefusal, sniff};
use ideaweave_domain::policy::Action;
use ideaweave_domain::*;
use ideaweave_store::records::{AttachmentRecord, LinkRecord};
use ideaweave_store::{FileReader, FileStoreError, NewAttachment, Tx};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::content::image_previews::{
    DECODING, PREVIEW_SOURCE_MAX, attachment_objects, make_preview, preview_key, preview_type,
};
use crate::platform::sealed::at;
use crate::platform::sealed::{Column, column};
use crate::trust::audit::{AuditAction, Target};
use crate::*;
use crate::{App, AppError, AppResult, Member, space_view};
use serde_json::json;

/// Most attachments one idea (with its comments) may carry.
const MAX_ATTACHMENTS_PER_IDEA: usize = 50;
/// Most links one idea (with its comments) may carry.
const MAX_LINKS_PER_IDEA: usize = 50;

pub(crate) fn storage_key(ws: WorkspaceId, id: AttachmentId) -> String {
    format!("{}/{}", ws.0, id.0)
}

/// A file to send back, with what the client should be told about it.
pub struct Download {
    /// The plaintext, opened chunk by chunk; an error part-way means the stored file was
    /// damaged and the response must be cut off.
    pub body: BoxStream<'static, AppResult<Bytes>>,
    /// The plaintext's length in bytes, as recorded at upload.
    pub size: u64,
    /// The media type decided at upload from the content.
    pub content_type: String,
    /// The original file name, for `Content-Disposition`.
    pub filename: String,
    /// Whether a browser may show it inline (raster images only).
    pub inline: bool,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("size", &self.size)
            .field("content_type", &self.content_type)
            .field("filename", &self.filename)
            .field("inline", &self.inline)
            .finish_non_exhaustive()
    }
}

/// What a view says of an attachment's preview: a preview whose size is known, one not made
/// yet (an image from an import or a restore), or none (not an image, or not previewable).
fn preview_view(content_type: &str, size: Option<(i32, i32)>) -> Option<PreviewView> {
    match size {
        Some((w, h)) if w > 0 && h > 0 => Some(PreviewView {
            width: u32::try_from(w).ok(),
            height: u32::try_from(h).ok(),
        }),
        Some(_) => None,
        None => content_type.starts_with("image/").then_some(PreviewView {
            width: None,
            height: None,
        }),
    }
}

fn refusal(e: UploadRefusal) -> AppError {
    match e {
        UploadRefusal::Empty => AppError::invalid("file", "the file is empty"),
        other => AppError::UnsupportedType(other.to_string()),
    }
}

/// Reads until `buf` is full or the reader ends; returns how much was read.
async fn read_full(reader: &mut FileReader, buf: &mut [u8]) -> AppResult<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]).await {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => return Err(FileStoreError::from(e).into()),
        }
    }
    Ok(got)
}

/// A stored file being opened, one block at a time.
pub(crate) struct SealedFile {
    id: AttachmentId,
    reader: FileReader,
    /// `None` once the last chunk was opened.
    opener: Option<StreamOpener>,
    block: Vec<u8>,
}

impl SealedFile {
    /// The next piece of plaintext; `None` at the authentic end of the file.
    pub(crate) async fn next_piece(&mut self) -> AppResult<Option<Bytes>> {
        loop {
            let Some(opener) = self.opener.as_mut() else {
                return Ok(None);
            };
            let got = read_full(&mut self.reader, &mut self.block).await?;
            let plain = if got == 0 {
                self.opener.take().map(|o| o.finish()).transpose()?
            } else {
                Some(opener.push(&self.block[..got])?)
            };
            match plain {
                Some(p) if !p.is_empty() => return Ok(Some(Bytes::from(p))),
                _ => continue,
            }
        }
    }
}

/// A preview to send: small, so sent in one piece.
fn preview_download(bytes: Bytes) -> Download {
    Download {
        size: bytes.len() as u64,
        content_type: preview_type(&bytes).to_owned(),
        filename: "preview".to_owned(),
        inline: true,
        body: Box::pin(futures_util::stream::iter([Ok(bytes)])),
    }
}

impl App {
    /// Opens the stored bytes of attachment `id` of `ws`, for reading piece by piece; `None`
    /// when the key that sealed them was shredded.
    pub(crate) async fn open_attachment_file(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        id: AttachmentId,
    ) -> AppResult<Option<SealedFile>> {
        self.open_sealed_object(tx, ws, id.0, column::ATTACHMENTS_FILE)
            .await
    }

    /// Opens a sealed object of the file store (`<ws>/<id>`, sealed for `table.column` of row
    /// `id`); `None` when its key was shredded.
    pub(crate) async fn open_sealed_object(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        id: uuid::Uuid,
        sealed: Column,
    ) -> AppResult<Option<SealedFile>> {
        let reader = self.files.open(&format!("{}/{id}", ws.0)).await?;
        self.open_sealed_reader(tx, reader, ws, id, sealed).await
    }

    /// Opens a sealed object being read from the file store, sealed for `table.column` of row
    /// `id`; `None` when its key was shredded.
    pub(crate) async fn open_sealed_reader(
        &self,
        tx: &mut Tx,
        mut reader: FileReader,
        ws: WorkspaceId,
        id: uuid::Uuid,
        sealed: Column,
    ) -> AppResult<Option<SealedFile>> {
        let mut header = [0u8; STREAM_HEADER_LEN];
        let got = read_full(&mut reader, &mut header).await?;
        if got < STREAM_HEADER_LEN {
            return Err(AppError::Integrity(format!(
                "the stored {sealed} of {id} is cut short ({got} bytes)"
            )));
        }
        let place = at(ws, sealed, id);
        Ok(self
            .keyring
            .open_stream(tx, &place, &header)
            .await?
            .map(|opener| SealedFile {
                id: AttachmentId(id),
                reader,
                opener: Some(opener),
                block: vec![0; STREAM_BLOCK],
            }))
    }

    /// Starts storing the bytes of attachment `id` of `ws`, sealed with `key` (import).
    pub(crate) async fn create_attachment_file(
        &self,
        ws: WorkspaceId,
        id: AttachmentId,
        key: &crate::platform::keyring::SealingKey,
    ) -> AppResult<(
        Box<dyn ideaweave_store::FileWriter>,
        ideaweave_crypto::StreamSealer,
    )> {
        let sealer = key.stream_sealer(&at(ws, column::ATTACHMENTS_FILE, id.0))?;
        let writer = self.files.create(&storage_key(ws, id)).await?;
        Ok((writer, sealer))
    }

    pub(crate) async fn attachment_out(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        a: AttachmentRecord,
    ) -> AppResult<AttachmentView> {
        Ok(AttachmentView {
            filename: self
                .open_text(
                    tx,
                    &at(ws, column::ATTACHMENTS_FILENAME, a.id.0),
                    &a.filename,
                )
                .await?,
            sha256: self
                .open_text(tx, &at(ws, column::ATTACHMENTS_SHA256, a.id.0), &a.sha256)
                .await?,
            id: a.id,
            idea_id: a.idea_id,
            comment_id: a.comment_id.map(CommentId),
            uploader_id: a.uploader_id,
            preview: preview_view(&a.content_type, a.preview_width.zip(a.preview_height)),
            content_type: a.content_type,
            size_bytes: a.size_bytes,
            created_at: a.created_at,
        })
    }

    pub(crate) async fn link_out(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        l: LinkRecord,
    ) -> AppResult<LinkView> {
        Ok(LinkView {
            url: self
                .open_text(tx, &at(ws, column::LINKS_URL, l.id.0), &l.url)
                .await?,
            title: self
                .open_text(tx, &at(ws, column::LINKS_TITLE, l.id.0), &l.title)
                .await?,
            id: l.id,
            idea_id: l.idea_id,
            comment_id: l.comment_id.map(CommentId),
            created_by: l.created_by,
            created_at: l.created_at,
        })
    }

    /// Checks the caller may attach to the idea (or to one of its comments) and returns where.
    async fn attach_target(
        &self,
        tx: &mut Tx,
        m: &Member,
        idea: IdeaId,
        comment: Option<CommentId>,
    ) -> AppResult<()> {
        let scope = self.live_idea(tx, m, idea).await?;
        let space = space_view(scope.space_private, scope.space_listed);
        let is_author = match comment {
            None => scope.author_id == m.actor.user,
            Some(cid) => match tx.workspace(m.workspace).comment(cid).await? {
                Some(c) if c.idea_id == idea && c.deleted_at.is_none() => {
                    c.author_id == m.actor.user
                }
                _ => {
                    return Err(AppError::invalid(
                        "comment_id",
                        "is not a comment on this idea",
                    ));
                }
            },
        };
        m.allow(Action::Attach { space, is_author })
    }

    /// Uploads a file to an idea or one of its comments. Its type is decided from its bytes;
    /// the name is kept for display only. The body is sealed and written chunk by chunk as it
    /// arrives, so a large file never sits whole in memory (ENC-01).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn upload<S>(
        &self,
        m: &Member,
        idea: IdeaId,
        comment: Option<CommentId>,
        filename: &str,
        mut body: S,
    ) -> AppResult<AttachmentView>
    where
        S: Stream<Item = AppResult<Bytes>> + Send + Unpin,
    {
        let filename = FileName::parse(filename.rsplit(['/', '\\']).next().unwrap_or(filename))?;
        let limit = self.settings.max_upload_bytes;
        let too_large = || AppError::TooLarge(format!("files may be at most {limit} bytes"));
        let mut head = Vec::with_capacity(SNIFF_WINDOW);
        let mut rest = None;
        while head.len() < SNIFF_WINDOW {
            let Some(piece) = body.next().await.transpose()? else {
                break;
            };
            let take = (SNIFF_WINDOW - head.len()).min(piece.len());
            head.extend_from_slice(&piece[..take]);
            if take < piece.len() {
                rest = Some(piece.slice(take..));
            }
        }
        if head.len() > limit {
            return Err(too_large());
        }
        let kind = sniff(&head).map_err(refusal)?;
        let now = self.now();
        let ws = m.workspace;
        let sealing = {
            let mut tx = self.store.begin().await?;
            self.attach_target(&mut tx, m, idea, comment).await?;
            let mut repo = tx.workspace(ws);
            if repo.attachments(idea).await?.len() >= MAX_ATTACHMENTS_PER_IDEA {
                return Err(AppError::Conflict(format!(
                    "an idea can carry at most {MAX_ATTACHMENTS_PER_IDEA} files"
                )));
            }
            let k = self
                .keyring
                .data_key(&mut repo, Some(m.actor.user), now)
                .await?;
            tx.commit().await?;
            k
        };
        let id = AttachmentId::new();
        let key = storage_key(ws, id);
        let mut sealer = sealing.stream_sealer(&at(ws, column::ATTACHMENTS_FILE, id.0))?;
        let mut text = kind.text.then(TextCheck::default);
        // An image is kept in memory as it passes, up to the size previews are made of.
        let mut original = kind.mime.starts_with("image/").then(Vec::new);
        let mut sha = Sha256::new();
        let mut size = 0usize;
        // Dropping the writer on any error below leaves nothing in the file store.
        let mut writer = self.files.create(&key).await?;
        let mut piece = Some(Bytes::from(head));
        while let Some(p) = piece {
            size = size.saturating_add(p.len());
            if size > limit {
                return Err(too_large());
            }
            if let Some(t) = text.as_mut() {
                t.feed(&p).map_err(refusal)?;
            }
            sha.update(&p);
            if let Some(o) = original.as_mut() {
                if o.len() + p.len() <= PREVIEW_SOURCE_MAX {
                    o.extend_from_slice(&p);
                } else {
                    original = None;
                }
            }
            writer.write(&sealer.push(&p)?).await?;
            piece = match rest.take() {
                Some(r) => Some(r),
                None => body.next().await.transpose()?,
            };
        }
        if let Some(t) = text {
            t.finish().map_err(refusal)?;
        }
        writer.write(&sealer.finish()?).await?;
        // The preview is made before the original is committed: a request given up while it
        // waits for its turn to decode leaves no original behind.
        let preview = match original {
            Some(o) => self.store_preview(ws, id, &sealing, o, kind.mime).await?,
            // An image too large to preview is recorded as such, so no page asks for one.
            None if kind.mime.starts_with("image/") => Some((0, 0)),
            None => None,
        };
        if let Err(e) = writer.commit().await {
            self.remove_attachment_objects(ws, id).await;
            return Err(e.into());
        }
        let sha = hex::encode(sha.finalize());
        let size = i64::try_from(size).map_err(|_| too_large())?;
        let sealed_name = sealing.seal(
            &at(ws, column::ATTACHMENTS_FILENAME, id.0),
            filename.as_str().as_bytes(),
        )?;
        let sealed_sha = sealing.seal(&at(ws, column::ATTACHMENTS_SHA256, id.0), sha.as_bytes())?;
        let result = async {
            let mut tx = self.store.begin().await?;
            self.attach_target(&mut tx, m, idea, comment).await?;
            let mut repo = tx.workspace(ws);
            repo.insert_attachment(
                NewAttachment {
                    id,
                    idea,
                    comment,
                    uploader: m.actor.user,
                    filename: &sealed_name,
                    content_type: kind.mime,
                    size_bytes: size,
                    sha256: &sealed_sha,
                },
                now,
            )
            .await?;
            if let Some((w, h)) = preview {
                repo.set_attachment_preview(id, w, h).await?;
            }
            tx.commit().await?;
            Ok::<_, AppError>(())
        }
        .await;
        if let Err(e) = result {
            self.remove_attachment_objects(ws, id).await;
            return Err(e);
        }
        Ok(AttachmentView {
            id,
            idea_id: idea,
            comment_id: comment,
            uploader_id: m.actor.user,
            filename: filename.into_inner(),
            content_type: kind.mime.to_owned(),
            size_bytes: size,
            sha256: sha,
            created_at: now,
            preview: preview_view(kind.mime, preview),
        })
    }

    /// An attachment's metadata, checked visible.
    async fn visible_attachment(
        &self,
        tx: &mut Tx,
        m: &Member,
        id: AttachmentId,
    ) -> AppResult<(AttachmentRecord, ideaweave_store::records::IdeaScope)> {
        let a = tx
            .workspace(m.workspace)
            .attachment(id)
            .await?
            .ok_or(AppError::NotFound("attachment"))?;
        let scope = self.visible_idea(tx, m, a.idea_id).await?;
        if a.comment_deleted
            && m.allow(Action::Moderate(space_view(
                scope.space_private,
                scope.space_listed,
            )))
            .is_err()
        {
            return Err(AppError::NotFound("attachment"));
        }
        Ok((a, scope))
    }

    /// An attachment's metadata.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn attachment(&self, m: &Member, id: AttachmentId) -> AppResult<AttachmentView> {
        let mut tx = self.store.read().await?;
        let (a, _) = self.visible_attachment(&mut tx, m, id).await?;
        self.attachment_out(&mut tx, m.workspace, a).await
    }

    /// An attachment's bytes, opened chunk by chunk as the client reads them. The first chunk
    /// is opened before this returns, so a file with the wrong key or a damaged start fails
    /// with an error status rather than halfway through a response.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn download(&self, m: &Member, id: AttachmentId) -> AppResult<Download> {
        let mut tx = self.store.read().await?;
        let a = self.visible_attachment(&mut tx, m, id).await?.0;
        let a = self.attachment_out(&mut tx, m.workspace, a).await?;
        let key = storage_key(m.workspace, id);
        let mut reader = self.files.open(&key).await?;
        let mut header = [0u8; STREAM_HEADER_LEN];
        let got = read_full(&mut reader, &mut header).await?;
        let place = at(m.workspace, column::ATTACHMENTS_FILE, id.0);
        if got < STREAM_HEADER_LEN {
            return Err(AppError::Integrity(format!(
                "the file of attachment {} is cut short ({got} bytes)",
                id.0
            )));
        }
        let opener = self
            .keyring
            .open_stream(&mut tx, &place, &header)
            .await?
            .ok_or(AppError::NotFound("attachment"))?;
        drop(tx);
        let mut file = SealedFile {
            id,
            reader,
            opener: Some(opener),
            block: vec![0; STREAM_BLOCK],
        };
        let first = file.next_piece().await?;
        let rest = futures_util::stream::try_unfold(file, |mut f| async move {
            let piece = f.next_piece().await;
            if let Err(e) = &piece {
                tracing::error!(attachment = %f.id.0, error = ?e, "a download was cut off");
            }
            Ok(piece?.map(|p| (p, f)))
        });
        let body = futures_util::stream::iter(first.map(Ok)).chain(rest);
        let inline = a.content_type.starts_with("image/");
        Ok(Download {
            body: Box::pin(body),
            size: u64::try_from(a.size_bytes).unwrap_or(0),
            content_type: a.content_type,
            filename: a.filename,
            inline,
        })
    }

    /// Removes an attachment (its uploader, the author of its idea, or a moderator).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    /// Answers the idea it was on.
    pub async fn delete_attachment(&self, m: &Member, id: AttachmentId) -> AppResult<IdeaId> {
        let mut tx = self.store.begin().await?;
        let (a, scope) = self.visible_attachment(&mut tx, m, id).await?;
        self.ensure_unrestricted(&mut tx, m, a.uploader_id).await?;
        let space = space_view(scope.space_private, scope.space_listed);
        // The person who added it, or the author of the idea it is on (COL-03).
        m.allow(Action::Detach {
            space,
            is_author: a.uploader_id == m.actor.user || scope.author_id == m.actor.user,
        })?;
        tx.workspace(m.workspace).delete_attachment(id).await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::ContentDeleted,
            Target::Thing("attachment", id.0),
            json!(null),
        )
        .await?;
        tx.commit().await?;
        self.remove_attachment_objects(m.workspace, id).await;
        Ok(a.idea_id)
    }

    /// Removes the stored objects of attachment `id` (its file and its preview), logging what
    /// cannot be removed: used where a failed upload or import must leave nothing behind.
    pub(crate) async fn remove_attachment_objects(&self, ws: WorkspaceId, id: AttachmentId) {
        for key in attachment_objects(&storage_key(ws, id)) {
            if let Err(e) = self.files.delete(&key).await {
                tracing::warn!(%key, error = %e, "could not remove a stored file");
            }
        }
    }

    /// Makes and stores the preview of image `original` of attachment `id`, sealed with `key`
    /// (the uploader's). Answers its size, `0 × 0` when the image cannot be previewed (a
    /// decompression bomb, a damaged file): the upload stands without a preview.
    async fn store_preview(
        &self,
        ws: WorkspaceId,
        id: AttachmentId,
        key: &crate::platform::keyring::SealingKey,
        original: Vec<u8>,
        mime: &'static str,
    ) -> AppResult<Option<(i32, i32)>> {
        let permit = DECODING
            .acquire()
            .await
            .map_err(|e| AppError::internal(e.to_string()))?;
        // The permit goes with the decoding thread: a request given up meanwhile does not free
        // its place while the decoding still runs.
        let made = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            make_preview(&original, mime)
        })
        .await;
        let preview = match made {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                tracing::info!(attachment = %id.0, reason = %e, "an image gets no preview");
                return Ok(Some((0, 0)));
            }
            Err(e) => {
                tracing::error!(attachment = %id.0, error = %e, "making a preview failed");
                return Ok(Some((0, 0)));
            }
        };
        let mut sealer = key.stream_sealer(&at(ws, column::ATTACHMENTS_PREVIEW, id.0))?;
        let mut writer = self.files.create(&preview_key(ws, id)).await?;
        writer.write(&sealer.push(&preview.bytes)?).await?;
        writer.write(&sealer.finish()?).await?;
        writer.commit().await?;
        Ok(Some((
            i32::try_from(preview.width).unwrap_or(0),
            i32::try_from(preview.height).unwrap_or(0),
        )))
    }

    /// The preview of an image attachment, as whoever may see the attachment sees it. A preview
    /// not made yet (an imported or restored file, or one whose preview object was lost) is
    /// made now from the original; an image that cannot be previewed answers not found.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn attachment_preview(&self, m: &Member, id: AttachmentId) -> AppResult<Download> {
        let ws = m.workspace;
        let a = {
            let mut tx = self.store.read().await?;
            self.visible_attachment(&mut tx, m, id).await?.0
        };
        let no_preview = || AppError::NotFound("preview");
        if !a.content_type.starts_with("image/") {
            return Err(no_preview());
        }
        if let (Some(w), Some(h)) = (a.preview_width, a.preview_height) {
            if w <= 0 || h <= 0 {
                return Err(no_preview());
            }
            if let Some(bytes) = self.read_preview(ws, id).await? {
                return Ok(preview_download(bytes));
            }
        }
        // Made from the original, read whole: only originals small enough to preview are read.
        // Nothing is made of a restricted person's image (no new processing of their data),
        // and no key is created for it: a shredded key means the image is gone.
        let made = async {
            let mut tx = self.store.read().await?;
            if tx.any_restricted(a.uploader_id, a.uploader_id).await? {
                return Ok::<_, AppError>(None);
            }
            if usize::try_from(a.size_bytes).map_or(true, |n| n > PREVIEW_SOURCE_MAX) {
                return Ok(Some((0, 0)));
            }
            let Some(key) = self
                .keyring
                .existing_subject_key(&mut tx.workspace(ws), a.uploader_id)
                .await?
            else {
                return Ok(None);
            };
            let Some(mut file) = self.open_attachment_file(&mut tx, ws, id).await? else {
                return Ok(None);
            };
            drop(tx);
            let mut original = Vec::with_capacity(usize::try_from(a.size_bytes).unwrap_or(0));
            while let Some(piece) = file.next_piece().await? {
                original.extend_from_slice(&piece);
            }
            match ideaweave_domain::attachment::sniff(&original) {
                Ok(kind) => self.store_preview(ws, id, &key, original, kind.mime).await,
                Err(_) => Ok(Some((0, 0))),
            }
        }
        .await?;
        let Some((w, h)) = made else {
            return Err(no_preview());
        };
        let mut tx = self.store.begin().await?;
        let recorded = tx.workspace(ws).set_attachment_preview(id, w, h).await?;
        tx.commit().await?;
        if !recorded {
            // The attachment went while its preview was made: the preview goes too.
            self.remove_attachment_objects(ws, id).await;
            return Err(no_preview());
        }
        if w <= 0 || h <= 0 {
            return Err(no_preview());
        }
        match self.read_preview(ws, id).await? {
            Some(bytes) => Ok(preview_download(bytes)),
            None => Err(no_preview()),
        }
    }

    /// The opened bytes of a stored preview; `None` when there is none (or its key is gone).
    async fn read_preview(&self, ws: WorkspaceId, id: AttachmentId) -> AppResult<Option<Bytes>> {
        let reader = match self.files.open(&preview_key(ws, id)).await {
            Ok(r) => r,
            Err(FileStoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut tx = self.store.read().await?;
        let Some(mut file) = self
            .open_sealed_reader(&mut tx, reader, ws, id.0, column::ATTACHMENTS_PREVIEW)
            .await?
        else {
            return Ok(None);
        };
        drop(tx);
        let mut all = Vec::new();
        while let Some(piece) = file.next_piece().await? {
            all.extend_from_slice(&piece);
        }
        Ok(Some(Bytes::from(all)))
    }

    /// Adds a link to an idea or one of its comments.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn add_link(
        &self,
        m: &Member,
        idea: IdeaId,
        input: LinkInput,
    ) -> AppResult<LinkView> {
        let url = LinkUrl::parse(&input.url)?;
        let title = LinkTitle::parse(&input.title)?;
        let mut tx = self.store.begin().await?;
        self.attach_target(&mut tx, m, idea, input.comment_id)
            .await?;
        let mut repo = tx.workspace(m.workspace);
        if repo.links(idea).await?.len() >= MAX_LINKS_PER_IDEA {
            return Err(AppError::Conflict(format!(
                "an idea can carry at most {MAX_LINKS_PER_IDEA} links"
            )));
        }
        let id = LinkId::new();
        let now = self.now();
        let ws = m.workspace;
        let key = self
            .keyring
            .data_key(&mut repo, Some(m.actor.user), now)
            .await?;
        let sealed_url = key.seal_text(ws, column::LINKS_URL, id.0, url.as_str())?;
        let sealed_title = key.seal_text(ws, column::LINKS_TITLE, id.0, title.as_str())?;
        repo.insert_link(
            id,
            idea,
            input.comment_id,
            &sealed_url,
            &sealed_title,
            m.actor.user,
            now,
        )
        .await?;
        let l = repo.link(id).await?.ok_or(AppError::NotFound("link"))?;
        let view = self.link_out(&mut tx, ws, l).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Removes a link (whoever added it, the author of its idea, or a moderator).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    /// Answers the idea it was on.
    pub async fn delete_link(&self, m: &Member, id: LinkId) -> AppResult<IdeaId> {
        let mut tx = self.store.begin().await?;
        let l = tx
            .workspace(m.workspace)
            .link(id)
            .await?
            .ok_or(AppError::NotFound("link"))?;
        let scope = self.visible_idea(&mut tx, m, l.idea_id).await?;
        self.ensure_unrestricted(&mut tx, m, l.created_by).await?;
        let space = space_view(scope.space_private, scope.space_listed);
        m.allow(Action::Detach {
            space,
            is_author: l.created_by == m.actor.user || scope.author_id == m.actor.user,
        })?;
        tx.workspace(m.workspace).delete_link(id).await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::ContentDeleted,
            Target::Thing("link", id.0),
            json!(null),
        )
        .await?;
        tx.commit().await?;
        Ok(l.idea_id)
    }
}
