//! Office documents: Office Open XML (DOCX, XLSX, PPTX) and OpenDocument (ODT, ODS, ODP),
//! both ZIP archives of XML parts.
//!
//! Only the parts that hold a document's text are opened, each through a budget of unpacked
//! bytes shared by the whole file, so that a part that unpacks beyond it (whatever its header
//! claims) stops the reading. The XML is read as a stream of events: no part is held whole in
//! memory, no entity is expanded, and nesting deeper than the limit stops the reading.

use std::io::{BufReader, Cursor, Read};

use quick_xml::events::Event;

use crate::text::Text;
use crate::{Format, Limits, Unreadable};

/// How one format's parts are read.
struct Rules {
    /// Whether a part of the archive holds text to read.
    part: fn(&str) -> bool,
    /// Elements whose character data is text (by local name); `None`: all character data.
    text: Option<&'static [&'static [u8]]>,
    /// Elements that end a paragraph, cell or row.
    blocks: &'static [&'static [u8]],
    /// Empty elements that stand for a space (tabs, runs of spaces).
    spaces: &'static [&'static [u8]],
    /// Empty elements that stand for a line break.
    breaks: &'static [&'static [u8]],
}

fn rules(format: Format) -> Rules {
    match format {
        Format::Docx => Rules {
            part: |n| {
                n == "word/document.xml"
                    || n == "word/footnotes.xml"
                    || n == "word/endnotes.xml"
                    || n == "word/comments.xml"
                    || numbered(n, "word/header")
                    || numbered(n, "word/footer")
            },
            text: Some(&[b"t"]),
            blocks: &[b"p", b"tc"],
            spaces: &[b"tab"],
            breaks: &[b"br", b"cr"],
        },
        Format::Pptx => Rules {
            part: |n| numbered(n, "ppt/slides/slide") || numbered(n, "ppt/notesSlides/notesSlide"),
            text: Some(&[b"t"]),
            blocks: &[b"p"],
            spaces: &[],
            breaks: &[b"br"],
        },
        Format::Xlsx => Rules {
            part: |n| n == "xl/sharedStrings.xml" || numbered(n, "xl/worksheets/sheet"),
            // `v` is a cell's value; in a cell of type `s` it is only a number pointing into
            // the shared strings, which are read themselves (see `SharedStringIndex`).
            text: Some(&[b"t", b"v"]),
            blocks: &[b"si", b"c", b"row"],
            spaces: &[],
            breaks: &[],
        },
        // OpenDocument keeps the body's text in `content.xml`, as the character data of its
        // paragraphs and cells.
        Format::Odt | Format::Ods | Format::Odp | Format::Pdf | Format::Text | Format::Zip => {
            Rules {
                part: |n| n == "content.xml",
                text: None,
                blocks: &[b"p", b"h", b"table-cell", b"list-item"],
                spaces: &[b"s", b"tab"],
                breaks: &[b"line-break"],
            }
        }
    }
}

/// `name` is `prefix` followed by a number and `.xml` (`ppt/slides/slide12.xml`).
fn numbered(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(".xml"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The order parts are read in: by name, their numbers compared as numbers (slide 2 before
/// slide 10).
fn reading_order(name: &str) -> (String, u64) {
    let stem = name.strip_suffix(".xml").unwrap_or(name);
    let digits = stem.len() - stem.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (head, number) = stem.split_at(stem.len() - digits);
    (head.to_owned(), number.parse().unwrap_or(0))
}

/// The office format a ZIP archive holds, told by its parts (and an OpenDocument's
/// `mimetype` entry); `None` for any other archive.
pub(crate) fn detect(bytes: &[u8], limits: &Limits) -> Result<Option<Format>, Unreadable> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| Unreadable::Malformed)?;
    if archive.len() > limits.max_entries {
        return Err(Unreadable::ArchiveTooLarge);
    }
    let has = |archive: &zip::ZipArchive<Cursor<&[u8]>>, name: &str| {
        archive.index_for_name(name).is_some()
    };
    if has(&archive, "word/document.xml") {
        return Ok(Some(Format::Docx));
    }
    if has(&archive, "xl/workbook.xml") {
        return Ok(Some(Format::Xlsx));
    }
    if has(&archive, "ppt/presentation.xml") {
        return Ok(Some(Format::Pptx));
    }
    let Ok(entry) = archive.by_name("mimetype") else {
        return Ok(None);
    };
    let mut mime = String::new();
    if entry.take(128).read_to_string(&mut mime).is_err() {
        return Ok(None);
    }
    Ok(match mime.trim() {
        "application/vnd.oasis.opendocument.text" => Some(Format::Odt),
        "application/vnd.oasis.opendocument.spreadsheet" => Some(Format::Ods),
        "application/vnd.oasis.opendocument.presentation" => Some(Format::Odp),
        _ => None,
    })
}

/// Reads the text of an office document.
pub(crate) fn read(
    bytes: &[u8],
    format: Format,
    limits: &Limits,
    out: &mut Text,
) -> Result<(), Unreadable> {
    let rules = rules(format);
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| Unreadable::Malformed)?;
    if archive.len() > limits.max_entries {
        return Err(Unreadable::ArchiveTooLarge);
    }
    let mut parts: Vec<String> = archive
        .file_names()
        .filter_map(Result::ok)
        .filter(|n| (rules.part)(n))
        .map(|n| n.into_owned())
        .collect();
    if parts.is_empty() {
        return Err(Unreadable::Malformed);
    }
    parts.sort_by_key(|n| reading_order(n));
    let mut left = limits.max_unpacked;
    for name in parts {
        let entry = match archive.by_name(&name) {
            Ok(e) => e,
            Err(zip::result::ZipError::UnsupportedArchive(
                zip::result::ZipError::PASSWORD_REQUIRED,
            )) => return Err(Unreadable::Encrypted),
            Err(_) => return Err(Unreadable::Malformed),
        };
        if entry.encrypted() {
            return Err(Unreadable::Encrypted);
        }
        let declared = entry.size();
        if declared > left {
            return Err(Unreadable::ArchiveTooLarge);
        }
        if declared > limits.ratio_floor
            && declared / entry.compressed_size().max(1) > limits.max_ratio
        {
            return Err(Unreadable::ArchiveTooLarge);
        }
        let mut reader = Limited {
            inner: entry,
            left,
            exceeded: false,
        };
        let read = read_part(&mut reader, &rules, limits, out);
        if reader.exceeded {
            return Err(Unreadable::ArchiveTooLarge);
        }
        left = reader.left;
        read?;
        out.end_block()?;
    }
    Ok(())
}

/// A reader that fails once more than its budget is read through it.
struct Limited<R> {
    inner: R,
    left: u64,
    exceeded: bool,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        match self.left.checked_sub(n as u64) {
            Some(left) => {
                self.left = left;
                Ok(n)
            }
            None => {
                self.exceeded = true;
                Err(std::io::Error::other("unpacked beyond the budget"))
            }
        }
    }
}

/// Reads one XML part's text into `out`.
fn read_part<R: Read>(
    part: &mut Limited<R>,
    rules: &Rules,
    limits: &Limits,
    out: &mut Text,
) -> Result<(), Unreadable> {
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(part));
    let mut buf = Vec::new();
    let mut depth = 0usize;
    // How many text elements the reader is inside (character data counts only then).
    let mut in_text = 0usize;
    // Inside a spreadsheet cell whose value is a shared-string index.
    let mut shared_index_cell = false;
    let mut in_value = false;
    let is = |list: &[&[u8]], name: &[u8]| list.contains(&name);
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|_| Unreadable::Malformed)?;
        match event {
            Event::Start(e) => {
                depth += 1;
                if depth > limits.max_depth {
                    return Err(Unreadable::TooDeep);
                }
                let local = e.local_name();
                let name = local.as_ref();
                if name == b"c" {
                    shared_index_cell = e
                        .try_get_attribute("t")
                        .ok()
                        .flatten()
                        .is_some_and(|a| a.value.as_ref() == b"s");
                }
                if name == b"v" {
                    in_value = true;
                }
                if rules.text.is_some_and(|t| is(t, name)) {
                    in_text += 1;
                }
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                let local = e.local_name();
                let name = local.as_ref();
                if name == b"v" {
                    in_value = false;
                }
                if rules.text.is_some_and(|t| is(t, name)) {
                    in_text = in_text.saturating_sub(1);
                }
                if is(rules.blocks, name) {
                    out.end_block()?;
                }
            }
            Event::Empty(e) => {
                let local = e.local_name();
                let name = local.as_ref();
                if is(rules.spaces, name) {
                    out.space()?;
                } else if is(rules.breaks, name) || is(rules.blocks, name) {
                    out.end_block()?;
                }
            }
            Event::Text(t) if reading(rules, in_text, in_value, shared_index_cell) => {
                let s = t.decode().map_err(|_| Unreadable::Malformed)?;
                out.push(&s)?;
            }
            Event::CData(t) if reading(rules, in_text, in_value, shared_index_cell) => {
                let s = t.decode().map_err(|_| Unreadable::Malformed)?;
                out.push(&s)?;
            }
            Event::GeneralRef(r) if reading(rules, in_text, in_value, shared_index_cell) => {
                // Character references and the five predefined entities; any other entity
                // is never expanded (no entity bombs).
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    out.push(c.encode_utf8(&mut [0; 4]))?;
                } else if let Ok(name) = r.decode()
                    && let Some(s) = quick_xml::escape::resolve_predefined_entity(&name)
                {
                    out.push(s)?;
                }
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
        buf.clear();
    }
}

/// Whether character data here is text: inside a text element (or anywhere, for
/// OpenDocument), except a cell value that only points into the shared strings.
fn reading(rules: &Rules, in_text: usize, in_value: bool, shared_index_cell: bool) -> bool {
    if in_value && shared_index_cell {
        return false;
    }
    rules.text.is_none() || in_text > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_counts_bytes_unpacked_whatever_was_claimed() {
        let mut r = Limited {
            inner: std::io::Cursor::new(vec![b'a'; 5_000]),
            left: 1_000,
            exceeded: false,
        };
        let mut out = Vec::new();
        assert!(r.read_to_end(&mut out).is_err());
        assert!(r.exceeded);
        assert!(out.len() <= 5_000);
        let mut within = Limited {
            inner: std::io::Cursor::new(vec![b'a'; 500]),
            left: 1_000,
            exceeded: false,
        };
        let mut out = Vec::new();
        assert_eq!(within.read_to_end(&mut out).unwrap(), 500);
        assert_eq!((within.left, within.exceeded), (500, false));
    }

    #[test]
    fn parts_are_read_in_their_numbers_order() {
        let mut names = vec![
            "ppt/slides/slide10.xml",
            "ppt/slides/slide2.xml",
            "ppt/slides/slide1.xml",
        ];
        names.sort_by_key(|n| reading_order(n));
        assert_eq!(
            names,
            [
                "ppt/slides/slide1.xml",
                "ppt/slides/slide2.xml",
                "ppt/slides/slide10.xml"
            ]
        );
        assert!(numbered("ppt/slides/slide10.xml", "ppt/slides/slide"));
        assert!(!numbered("ppt/slides/slide.xml", "ppt/slides/slide"));
        assert!(!numbered("ppt/slides/slide1.xml.rels", "ppt/slides/slide"));
    }
}
