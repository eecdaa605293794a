//! Rules for uploaded files: what a file is, decided from its bytes and never from its name.

/// The verdict on an uploaded file's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SniffedType {
    /// The media type to store and to serve the file with.
    pub mime: &'static str,
    /// True when browsers may show it inline (raster images and PDF); everything else is served
    /// as a download.
    pub inline: bool,
    /// True when it was taken for text: the rest of the file must then pass a [`TextCheck`].
    pub text: bool,
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

/// How many bytes from the start of a file decide its type.
pub const SNIFF_WINDOW: usize = 8 * 1024;

/// Decides what a file is from its first bytes (up to [`SNIFF_WINDOW`]; all of it when shorter).
/// Text is accepted when it is valid UTF-8 without NUL bytes and is served as `text/plain`, so
/// HTML or SVG uploads are only ever downloads, never pages. For text, `head` may end inside a
/// character; the whole file is then checked with a [`TextCheck`] as it streams past.
pub fn sniff(head: &[u8]) -> Result<SniffedType, UploadRefusal> {
    if head.is_empty() {
        return Err(UploadRefusal::Empty);
    }
    let detected = infer::get(head).map(|k| k.mime_type());
    if let Some(m) = detected.and_then(|mime| ALLOWED.iter().find(|m| **m == mime)) {
        return Ok(SniffedType {
            mime: m,
            inline: INLINE.contains(m),
            text: false,
        });
    }
    if TextCheck::default().feed(head).is_ok() {
        return Ok(SniffedType {
            mime: "text/plain; charset=utf-8",
            inline: false,
            text: true,
        });
    }
    Err(UploadRefusal::TypeNotAllowed(
        detected.unwrap_or("unknown binary").to_owned(),
    ))
}

/// Checks, piece by piece, that a stream is UTF-8 without NUL bytes, wherever the pieces split
/// its characters.
#[derive(Debug, Default)]
pub struct TextCheck {
    /// The start of a character the last piece ended in (at most three bytes).
    partial: Vec<u8>,
}

impl TextCheck {
    /// Takes the next piece.
    pub fn feed(&mut self, piece: &[u8]) -> Result<(), UploadRefusal> {
        let not_text = || UploadRefusal::TypeNotAllowed("binary data in a text file".into());
        if piece.contains(&0) {
            return Err(not_text());
        }
        let joined;
        let bytes = if self.partial.is_empty() {
            piece
        } else {
            joined = [std::mem::take(&mut self.partial).as_slice(), piece].concat();
            &joined[..]
        };
        match std::str::from_utf8(bytes) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                self.partial = bytes[e.valid_up_to()..].to_vec();
                Ok(())
            }
            Err(_) => Err(not_text()),
        }
    }

    /// Checks the end: the stream must not stop inside a character.
    pub fn finish(self) -> Result<(), UploadRefusal> {
        if self.partial.is_empty() {
            Ok(())
        } else {
            Err(UploadRefusal::TypeNotAllowed(
                "text that ends inside a character".into(),
            ))
        }
    }
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

    #[test]
    fn text_is_checked_across_pieces_split_inside_characters() {
        let text = "grüße, 東京 and 🎉 ".repeat(50);
        let bytes = text.as_bytes();
        for split in 1..12 {
            let mut check = TextCheck::default();
            for piece in bytes.chunks(split) {
                check.feed(piece).unwrap();
            }
            check.finish().unwrap();
        }
        let mut cut = TextCheck::default();
        cut.feed(&"🎉".as_bytes()[..2]).unwrap();
        assert!(cut.finish().is_err(), "a stream ending inside a character");
        let mut late = TextCheck::default();
        late.feed(b"plain text").unwrap();
        assert!(
            late.feed(b"then \0 binary\0").is_err(),
            "a NUL after a text start"
        );
        let mut bad = TextCheck::default();
        assert!(bad.feed(&[b'a', 0xff, b'b']).is_err(), "an invalid byte");
        assert!(
            sniff(&"🎉".as_bytes()[..3]).unwrap().text,
            "a head may end mid-character"
        );
    }
}
