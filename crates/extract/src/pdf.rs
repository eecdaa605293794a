//! PDF, through lopdf.
//!
//! lopdf repairs damaged cross-reference tables, which would make a file cut short in
//! transfer look whole but for its missing pages; a PDF must therefore end with its `%%EOF`
//! marker within its last kilobyte (the tolerance readers have always allowed), or it is taken
//! as cut short. Streams are unpacked with a bound (`max_unpacked`); a page tree that loops or
//! leads nowhere yields no pages, which is reported as damage rather than as an empty file.

use lopdf::{Document, LoadOptions};

use crate::text::Text;
use crate::{Limits, Unreadable};

/// Where the end-of-file marker must be found, from the end.
const EOF_WINDOW: usize = 1024;

pub(crate) fn read(bytes: &[u8], limits: &Limits, out: &mut Text) -> Result<(), Unreadable> {
    let tail = &bytes[bytes.len().saturating_sub(EOF_WINDOW)..];
    if !tail.windows(5).any(|w| w == b"%%EOF") {
        return Err(Unreadable::Malformed);
    }
    let bound = usize::try_from(limits.max_unpacked).unwrap_or(usize::MAX);
    let options = LoadOptions {
        max_decompressed_size: Some(bound),
        ..LoadOptions::default()
    };
    let doc = match Document::load_mem_with_options(bytes, options) {
        Ok(doc) => doc,
        Err(lopdf::Error::Decryption(_)) => return Err(Unreadable::Encrypted),
        Err(_) => return Err(Unreadable::Malformed),
    };
    if doc.is_encrypted() {
        return Err(Unreadable::Encrypted);
    }
    let pages = doc.get_pages();
    if pages.is_empty() {
        return Err(Unreadable::Malformed);
    }
    let mut read_any = false;
    for number in pages.keys() {
        // A page that cannot be read is skipped; the file fails only if none can.
        if let Ok(page) = doc.extract_text_with_limit(&[*number], bound) {
            read_any = true;
            out.push(&page)?;
            out.end_block()?;
        }
    }
    if read_any {
        Ok(())
    } else {
        Err(Unreadable::Malformed)
    }
}
