//! PDF, through lopdf.
//!
//! lopdf repairs damaged cross-reference tables, which would make a file cut short in
//! transfer look whole but for its missing pages. So a PDF must end with its `%%EOF` marker
//! within its last kilobyte (the tolerance readers have always allowed), a table lopdf had to
//! rebuild by scanning the file is damage, and so is a page that cannot be read: what search
//! holds of a file is all of its text or none of it. Streams are unpacked with a bound
//! (`max_unpacked`); a page tree that loops or leads nowhere yields no pages, which is
//! reported as damage rather than as an empty file.

use lopdf::xref::XrefRecovery;
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
    if doc.xref_recovery == Some(XrefRecovery::Reconstructed) {
        return Err(Unreadable::Malformed);
    }
    let pages = doc.get_pages();
    if pages.is_empty() {
        return Err(Unreadable::Malformed);
    }
    for number in pages.keys() {
        let page = doc
            .extract_text_with_limit(&[*number], bound)
            .map_err(|_| Unreadable::Malformed)?;
        out.push(&page)?;
        out.end_block()?;
    }
    Ok(())
}
