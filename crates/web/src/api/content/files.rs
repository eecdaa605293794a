//! Attachments and links.

use axum::Json;
use axum::body::Body;
use axum::extract::multipart::MultipartError;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use ideaweave_app::*;
use ideaweave_domain::{AttachmentId, CommentId, IdeaId, LinkId};
use serde::Deserialize;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Ws};

/// Where an upload goes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// Attach to this comment of the idea instead of the idea itself.
    pub comment_id: Option<CommentId>,
}

/// The multipart form of an upload.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file. Its type is decided from its content, never from its name.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Upload a file to an idea (author or moderator) as multipart field `file`.
#[utoipa::path(post, path = "/workspaces/{slug}/ideas/{idea_id}/attachments", tag = "files",
    params(("slug" = String, Path), ("idea_id" = IdeaId, Path), UploadQuery),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = AttachmentView), (status = "4XX", body = ErrorBody)))]
pub async fn upload(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, idea)): ApiPath<(String, IdeaId)>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<(StatusCode, Json<AttachmentView>)> {
    let mut multipart = multipart.map_err(|e| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send the file as multipart/form-data: {}", e.body_text()),
        )
    })?;
    let read_error = |e: MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge("the upload is larger than allowed".into())
        } else {
            AppError::Malformed(format!("malformed multipart body: {}", e.body_text()))
        }
    };
    while let Some(field) = multipart.next_field().await.map_err(read_error)? {
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().unwrap_or("upload").to_owned();
        let body = field.map(|piece| piece.map_err(read_error));
        let view = s
            .app
            .upload(&m, idea, q.comment_id, &filename, body)
            .await?;
        return Ok((StatusCode::CREATED, Json(view)));
    }
    Err(AppError::invalid("file", "the multipart body has no field named \"file\"").into())
}

/// An attachment's metadata.
#[utoipa::path(get, path = "/workspaces/{slug}/attachments/{attachment_id}", tag = "files",
    params(("slug" = String, Path), ("attachment_id" = AttachmentId, Path)),
    responses((status = 200, body = AttachmentView), (status = "4XX", body = ErrorBody)))]
pub async fn get_attachment(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, AttachmentId)>,
) -> ApiResult<Json<AttachmentView>> {
    Ok(Json(s.app.attachment(&m, id).await?))
}

/// Delete an attachment (uploader or moderator).
#[utoipa::path(delete, path = "/workspaces/{slug}/attachments/{attachment_id}", tag = "files",
    params(("slug" = String, Path), ("attachment_id" = AttachmentId, Path)), responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn delete_attachment(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, AttachmentId)>,
) -> ApiResult<StatusCode> {
    s.app.delete_attachment(&m, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Keeps a file name safe for a quoted header parameter.
fn ascii_filename(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.trim().is_empty() {
        "download".into()
    } else {
        s
    }
}

fn percent_encode(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Download an attachment. Files are served with their sniffed type, `nosniff`, a sandboxing
/// CSP and as downloads (only raster images inline), so an upload can never run as a page of
/// this origin.
#[utoipa::path(get, path = "/workspaces/{slug}/attachments/{attachment_id}/content", tag = "files",
    params(("slug" = String, Path), ("attachment_id" = AttachmentId, Path)),
    responses((status = 200, description = "The file, with the type sniffed from its content", content_type = "*/*"), (status = "4XX", body = ErrorBody)))]
pub async fn download(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, AttachmentId)>,
) -> ApiResult<Response> {
    Ok(file_response(s.app.download(&m, id).await?))
}

/// The preview of an image attachment: at most 960 pixels on its longest side, re-encoded as
/// JPEG (PNG where the image has transparency) without the original's metadata (EXIF location,
/// camera data). Not found for files that are not images or cannot be previewed.
#[utoipa::path(get, path = "/workspaces/{slug}/attachments/{attachment_id}/preview", tag = "files",
    params(("slug" = String, Path), ("attachment_id" = AttachmentId, Path)),
    responses((status = 200, description = "The preview: JPEG, or PNG for an image with transparency", content_type = "image/*"), (status = "4XX", body = ErrorBody)))]
pub async fn preview(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, AttachmentId)>,
) -> ApiResult<Response> {
    Ok(file_response(s.app.attachment_preview(&m, id).await?))
}

/// A stored file as a response: its type, a download disposition (inline for raster images),
/// `nosniff`-safe headers and a sandboxing CSP, streamed.
pub(crate) fn file_response(d: Download) -> Response {
    let disposition = format!(
        "{}; filename=\"{}\"; filename*=UTF-8''{}",
        if d.inline { "inline" } else { "attachment" },
        ascii_filename(&d.filename),
        percent_encode(&d.filename)
    );
    let content_type = HeaderValue::from_str(&d.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition =
        HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; sandbox"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
            (header::CONTENT_LENGTH, HeaderValue::from(d.size)),
        ],
        Body::from_stream(d.body),
    )
        .into_response()
}

/// Add a link to an idea or one of its comments (author or moderator).
#[utoipa::path(post, path = "/workspaces/{slug}/ideas/{idea_id}/links", tag = "files",
    params(("slug" = String, Path), ("idea_id" = IdeaId, Path)), request_body = LinkInput,
    responses((status = 201, body = LinkView), (status = "4XX", body = ErrorBody)))]
pub async fn add_link(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, idea)): ApiPath<(String, IdeaId)>,
    ApiJson(i): ApiJson<LinkInput>,
) -> ApiResult<(StatusCode, Json<LinkView>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.add_link(&m, idea, i).await?),
    ))
}

/// Remove a link (whoever added it, or a moderator).
#[utoipa::path(delete, path = "/workspaces/{slug}/links/{link_id}", tag = "files",
    params(("slug" = String, Path), ("link_id" = LinkId, Path)), responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn delete_link(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, id)): ApiPath<(String, LinkId)>,
) -> ApiResult<StatusCode> {
    s.app.delete_link(&m, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
