//! Previews of uploaded images: small re-encoded copies that pages show inline.
//!
//! A preview is decoded from the original under hard limits (a decompression bomb is refused,
//! not decoded), turned upright by its orientation tag, scaled down, and encoded afresh. The
//! encoders write pixels only, so nothing of the original's metadata (EXIF camera data and GPS
//! location, XMP, comments) reaches the preview. The preview is sealed like the original
//! (ENC-01) and lives as long as it: every path that removes an attachment's file removes its
//! preview with it ([`attachment_objects`]).

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use tokio::sync::Semaphore;

use ideaweave_domain::{AttachmentId, WorkspaceId};

/// The longest side of a preview, in pixels: sharp at twice the width a page shows it.
pub(crate) const PREVIEW_SIDE: u32 = 960;
/// Originals larger than this are not previewed: decoding them would hold too much memory.
pub(crate) const PREVIEW_SOURCE_MAX: usize = 32 * 1024 * 1024;
/// The widest and tallest image decoded. A phone camera's 8,000 × 6,000 fits.
const MAX_SIDE: u32 = 12_000;
/// The most memory one preview may take: the decoded pixels and the upright copy (a 24-megapixel
/// RGB photo takes 2 × 72 MiB).
const MAX_DECODE_BYTES: u64 = 160 * 1024 * 1024;
/// Quality of a JPEG preview: no visible loss at preview size.
const JPEG_QUALITY: u8 = 82;

/// At most two images decode at once, so a burst of uploads cannot exhaust memory.
pub(crate) static DECODING: Semaphore = Semaphore::const_new(2);

/// A preview made from an image.
#[derive(Debug)]
pub(crate) struct Preview {
    /// The encoded preview (JPEG, or PNG where the image has transparency).
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Why an image gets no preview. None of these is an error of the upload: the file is kept.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NoPreview {
    #[error("not an image type previews are made of")]
    Unsupported,
    #[error("decoding it would take {0} bytes of memory")]
    TooLarge(u64),
    #[error("the image could not be read: {0}")]
    Unreadable(#[from] image::ImageError),
}

/// The storage key of an attachment's preview, beside its original.
pub(crate) fn preview_key(ws: WorkspaceId, id: AttachmentId) -> String {
    let [_, preview] = attachment_objects(&crate::content::files::storage_key(ws, id));
    preview
}

/// Every object the file store holds for the attachment stored under `key`: the file and its
/// preview. Deleting a missing object is not an error, so callers delete all of them.
pub fn attachment_objects(key: &str) -> [String; 2] {
    [key.to_owned(), format!("{key}-preview")]
}

/// The media type of a preview's bytes.
pub(crate) fn preview_type(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else {
        "image/jpeg"
    }
}

/// Makes a preview of `original`, an image of media type `mime`. Blocking: decoding takes
/// tens of milliseconds for a photo, so callers run it off the async threads.
pub(crate) fn make_preview(original: &[u8], mime: &str) -> Result<Preview, NoPreview> {
    let format = match mime {
        "image/png" => ImageFormat::Png,
        "image/jpeg" => ImageFormat::Jpeg,
        "image/gif" => ImageFormat::Gif,
        "image/webp" => ImageFormat::WebP,
        _ => return Err(NoPreview::Unsupported),
    };
    let mut reader = ImageReader::with_format(Cursor::new(original), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder()?;
    // The decoders check the size of the image, not the memory its pixels take: that is
    // checked here, before anything is decoded, counting the copy turning it upright makes.
    let needed = decoder.total_bytes().saturating_mul(2);
    if needed > MAX_DECODE_BYTES {
        return Err(NoPreview::TooLarge(needed));
    }
    let orientation = decoder.orientation()?;
    let mut image = DynamicImage::from_decoder(decoder)?;
    image.apply_orientation(orientation);
    let image = if image.width() > PREVIEW_SIDE || image.height() > PREVIEW_SIDE {
        image.thumbnail(PREVIEW_SIDE, PREVIEW_SIDE)
    } else {
        image
    };
    let mut bytes = Vec::new();
    if image.color().has_alpha() {
        image
            .to_rgba8()
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)?;
    } else {
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY);
        image.to_rgb8().write_with_encoder(encoder)?;
    }
    Ok(Preview {
        bytes,
        width: image.width(),
        height: image.height(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .expect("encodes");
        out
    }

    #[test]
    fn a_large_image_is_scaled_to_fit_and_keeps_its_shape() {
        let p = make_preview(&png(2000, 1000), "image/png").expect("previews");
        assert_eq!((p.width, p.height), (PREVIEW_SIDE, PREVIEW_SIDE / 2));
        assert_eq!(preview_type(&p.bytes), "image/jpeg");
    }

    #[test]
    fn a_small_image_keeps_its_size() {
        let p = make_preview(&png(40, 30), "image/png").expect("previews");
        assert_eq!((p.width, p.height), (40, 30));
    }

    #[test]
    fn an_image_whose_pixels_would_not_fit_in_memory_is_not_decoded() {
        // A real JPEG whose frame header is changed to claim 11,000 × 11,000 pixels (363 MB of
        // RGB): within the largest side, beyond the memory a preview may take.
        let img = image::RgbImage::from_pixel(16, 16, image::Rgb([200, 100, 50]));
        let mut jpeg = Vec::new();
        img.write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
            .expect("encodes");
        let sof = jpeg
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("a baseline frame header");
        jpeg[sof + 5..sof + 7].copy_from_slice(&11_000u16.to_be_bytes());
        jpeg[sof + 7..sof + 9].copy_from_slice(&11_000u16.to_be_bytes());
        assert!(matches!(
            make_preview(&jpeg, "image/jpeg"),
            Err(NoPreview::TooLarge(n)) if n == 2 * 11_000 * 11_000 * 3
        ));
    }

    #[test]
    fn garbage_is_refused_without_a_panic() {
        assert!(make_preview(b"\x89PNG\r\n\x1a\nnot really", "image/png").is_err());
        assert!(make_preview(&[0xFF, 0xD8, 0xFF, 0, 0, 0], "image/jpeg").is_err());
        assert!(make_preview(b"GIF89a", "image/gif").is_err());
        assert!(make_preview(b"RIFF\0\0\0\0WEBP", "image/webp").is_err());
        assert!(matches!(
            make_preview(b"%PDF-1.7", "application/pdf"),
            Err(NoPreview::Unsupported)
        ));
    }

    #[test]
    fn preview_objects_sit_beside_their_original() {
        let ws = WorkspaceId(uuid::Uuid::nil());
        let id = AttachmentId(uuid::Uuid::nil());
        let key = crate::content::files::storage_key(ws, id);
        assert_eq!(attachment_objects(&key)[1], preview_key(ws, id));
    }
}
