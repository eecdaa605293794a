//! The text inside uploaded files, for search (COL-05).
//!
//! Files are whatever people upload, including files made to hurt: a ZIP that unpacks to
//! gigabytes, a PDF whose objects refer to each other in a loop, a spreadsheet of millions of
//! cells. So the reading never happens in the server: [`Extractor`] runs it in a child process
//! (the same binary, `ideaweave extract-text`) that limits itself before it reads a byte
//! ([`run_child`]: processor time, memory, no files written), and the parent also stops it
//! after a wall-clock time and reads at most [`Limits::max_text`] bytes of its answer. The
//! server thus keeps answering whatever a file does; a file that cannot be read is searched by
//! its name only, and why is recorded as an [`Unreadable`] code.
//!
//! Within the child, ZIP-based formats are read part by part with a budget of unpacked bytes
//! and a limit on each part's compression ratio, XML is read as a stream with a limit on
//! nesting, no XML entity is expanded, and archives inside archives are never opened.

mod child;
mod office;
mod parent;
mod pdf;
mod text;

use std::str::FromStr;

pub use child::{ChildLimits, run_child};
pub use parent::{ExtractError, Extractor};

/// The kinds of file whose text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pdf,
    Docx,
    Xlsx,
    Pptx,
    Odt,
    Ods,
    Odp,
    /// UTF-8 text, Markdown included (its markup is the caller's to strip).
    Text,
    /// A ZIP archive: an office document whose parts' order hid its type from the upload's
    /// sniffing (python-docx writes its parts so), read as what its parts show; any other
    /// archive has no text of its own (archives inside are never opened).
    Zip,
}

impl Format {
    /// Every format, in the order their names are listed.
    pub const ALL: [Format; 9] = [
        Format::Pdf,
        Format::Docx,
        Format::Xlsx,
        Format::Pptx,
        Format::Odt,
        Format::Ods,
        Format::Odp,
        Format::Text,
        Format::Zip,
    ];

    /// The format of a file stored with media type `mime` (as the upload's content decided
    /// it), or `None` when its text is not read (images, other archives).
    pub fn of_media_type(mime: &str) -> Option<Self> {
        let essence = mime.split(';').next().unwrap_or(mime).trim();
        Some(match essence {
            "application/pdf" => Self::Pdf,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => Self::Docx,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => Self::Xlsx,
            "application/vnd.openxmlformats-officedocument.presentationml.presentation" => {
                Self::Pptx
            }
            "application/vnd.oasis.opendocument.text" => Self::Odt,
            "application/vnd.oasis.opendocument.spreadsheet" => Self::Ods,
            "application/vnd.oasis.opendocument.presentation" => Self::Odp,
            "text/plain" => Self::Text,
            "application/zip" => Self::Zip,
            _ => return None,
        })
    }

    /// The name the child process is told.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Docx => "docx",
            Self::Xlsx => "xlsx",
            Self::Pptx => "pptx",
            Self::Odt => "odt",
            Self::Ods => "ods",
            Self::Odp => "odp",
            Self::Text => "text",
            Self::Zip => "zip",
        }
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("unknown format {s:?}"))
    }
}

/// Why a file's text was not read. The [`code`](Self::code) is what is recorded; it says
/// nothing of the file's content, so it may be stored and logged in plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unreadable {
    /// The file is larger than text is read from (`search.extract_max_mb`).
    #[error("the file is larger than text is read from")]
    TooLarge,
    /// A ZIP-based file unpacks to more than the budget, or one part is packed suspiciously
    /// tightly (a decompression bomb), or it has too many parts.
    #[error("the file unpacks to more than is read")]
    ArchiveTooLarge,
    /// Its XML is nested deeper than any real document.
    #[error("the file is nested too deeply")]
    TooDeep,
    /// Its text is longer than [`Limits::max_text`].
    #[error("the file holds more text than is read")]
    TextTooLong,
    /// It is encrypted.
    #[error("the file is encrypted")]
    Encrypted,
    /// It is damaged, cut short, or not what its type says.
    #[error("the file is damaged or not what its type says")]
    Malformed,
    /// Reading it took longer than allowed (`search.extract_seconds`).
    #[error("reading the file took longer than allowed")]
    TimeLimit,
    /// Reading it needed more memory than allowed (`search.extract_memory_mb`).
    #[error("reading the file needed more memory than allowed")]
    MemoryLimit,
    /// The reader stopped in another way.
    #[error("the reader stopped unexpectedly")]
    Crashed,
}

impl Unreadable {
    /// Every reason.
    pub const ALL: [Unreadable; 9] = [
        Unreadable::TooLarge,
        Unreadable::ArchiveTooLarge,
        Unreadable::TooDeep,
        Unreadable::TextTooLong,
        Unreadable::Encrypted,
        Unreadable::Malformed,
        Unreadable::TimeLimit,
        Unreadable::MemoryLimit,
        Unreadable::Crashed,
    ];

    /// The stable code stored and shown (translated) to people.
    pub fn code(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::ArchiveTooLarge => "archive_too_large",
            Self::TooDeep => "too_deep",
            Self::TextTooLong => "text_too_long",
            Self::Encrypted => "encrypted",
            Self::Malformed => "malformed",
            Self::TimeLimit => "time_limit",
            Self::MemoryLimit => "memory_limit",
            Self::Crashed => "crashed",
        }
    }

    /// The reason of a code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// Limits on reading one file, within the child.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The most bytes of text kept (UTF-8): about a long book. A file with more is not read
    /// at all rather than read in part, so that what search finds is never a silent subset.
    pub max_text: usize,
    /// The most bytes unpacked from all parts of a ZIP-based file together.
    pub max_unpacked: u64,
    /// The highest compression ratio of a part larger than [`Self::ratio_floor`]: ordinary
    /// XML packs about 10:1, a bomb thousands to one.
    pub max_ratio: u64,
    /// Parts smaller than this are not held to [`Self::max_ratio`].
    pub ratio_floor: u64,
    /// The most entries a ZIP-based file may list.
    pub max_entries: usize,
    /// The deepest XML nesting read.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_text: 2 * 1024 * 1024,
            max_unpacked: 128 * 1024 * 1024,
            max_ratio: 200,
            ratio_floor: 1024 * 1024,
            max_entries: 10_000,
            max_depth: 256,
        }
    }
}

/// Reads the text of `bytes`, a file of `format`, in this process: the child's work. The
/// server calls [`Extractor::extract`] instead, which runs this in a child with limits.
pub fn extract(bytes: &[u8], format: Format, limits: &Limits) -> Result<String, Unreadable> {
    let mut out = text::Text::new(limits.max_text);
    match format {
        Format::Pdf => pdf::read(bytes, limits, &mut out)?,
        Format::Text => {
            let s = std::str::from_utf8(bytes).map_err(|_| Unreadable::Malformed)?;
            out.push(s)?;
        }
        Format::Zip => {
            if let Some(office) = office::detect(bytes, limits)? {
                office::read(bytes, office, limits, &mut out)?;
            }
        }
        office => office::read(bytes, office, limits, &mut out)?,
    }
    Ok(out.finish())
}
