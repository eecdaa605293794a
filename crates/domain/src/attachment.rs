//! Rules for uploaded files: what a file is, decided from its bytes and never from its name.

/// The verdict on an uploaded file's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SniffedType {
    /// The media type to store and to serve the file with.
    pub mime: &'static str,
    /// True when browsers may show it inline (raster images and PDF); everything else is served
    /// as a download.
    pub inline: bool,
}

/// Why a file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadRefusal {
    /// The file was empty.
    #[error("the file is empty")]
    Empty,
    /// The content is of a kind that is not accepted.
    #[error(
        "files of type {0} are not accepted; allowed are images (PNG, JPEG, GIF, WebP), PDF, office documents, ZIP archives and plain text"
    )]
    TypeNotAllowed(String),
}

/// Media types accepted for upload, as detected from content.
const ALLOWED: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
];

const INLINE: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Decides what `bytes` are. Text is accepted when it is valid UTF-8 without NUL bytes and is
/// served as `text/plain`, so HTML or SVG uploads are only ever downloads, never pages.
pub fn sniff(bytes: &[u8]) -> Result<SniffedType, UploadRefusal> {
    if bytes.is_empty() {
        return Err(UploadRefusal::Empty);
    }
    let detected = infer::get(bytes).map(|k| k.mime_type());
    if let Some(m) = detected.and_then(|mime| ALLOWED.iter().find(|m| **m == mime)) {
        return Ok(SniffedType {
            mime: m,
            inline: INLINE.contains(m),
        });
    }
    // Text of any kind (HTML, SVG, scripts included) is only ever served as plain text.
    if !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok() {
        return Ok(SniffedType {
            mime: "text/plain; charset=utf-8",
            inline: false,
        });
    }
    Err(UploadRefusal::TypeNotAllowed(
        detected.unwrap_or("unknown binary").to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_by_content_not_name() {
        let png = [
            0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R',
        ];
        assert_eq!(sniff(&png).unwrap().mime, "image/png");
    }

    #[test]
    fn html_is_plain_text_download() {
        let t = sniff(b"<html><script>alert(1)</script></html>").unwrap();
        assert_eq!(t.mime, "text/plain; charset=utf-8");
        assert!(!t.inline);
    }

    #[test]
    fn executables_and_empty_refused() {
        assert_eq!(sniff(b""), Err(UploadRefusal::Empty));
        let elf = [0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(sniff(&elf), Err(UploadRefusal::TypeNotAllowed(_))));
        assert!(matches!(
            sniff(&[0u8, 1, 2, 3, 0xff]),
            Err(UploadRefusal::TypeNotAllowed(_))
        ));
    }
}
