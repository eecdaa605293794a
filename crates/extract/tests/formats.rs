//! The reading of each format and its limits, in this process (COL-05). Real documents made by
//! real libraries, and the child process's limits, are tested through the server in
//! `crates/server/tests/it/content/search_files.rs`.

// A failed step in a helper is a failed test.
#![allow(clippy::unwrap_used)]

use std::io::Write;

use ideaweave_extract::{Format, Limits, Unreadable, extract};
use zip::write::SimpleFileOptions;

/// A ZIP of these parts, deflated.
fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut out);
    for (name, bytes) in parts {
        z.start_file(*name, SimpleFileOptions::default()).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
    out.into_inner()
}

const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;

fn docx(body: &str) -> Vec<u8> {
    let xml =
        format!(r#"<?xml version="1.0"?><w:document {W}><w:body>{body}</w:body></w:document>"#);
    zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("word/document.xml", xml.as_bytes()),
    ])
}

#[test]
fn col_05_docx_paragraphs_tabs_and_references_read_as_text() {
    let bytes = docx(
        "<w:p><w:r><w:t>Fish &amp; chips</w:t><w:tab/><w:t>caf&#233;</w:t></w:r></w:p>\
         <w:p><w:r><w:t xml:space=\"preserve\">second </w:t><w:t>line</w:t></w:r></w:p>\
         <w:p><w:r><w:instrText>HYPERLINK</w:instrText></w:r></w:p>",
    );
    let text = extract(&bytes, Format::Docx, &Limits::default()).unwrap();
    assert_eq!(text, "Fish & chips café\nsecond line\n");
}

#[test]
fn col_05_xlsx_reads_shared_strings_and_values_but_not_string_indexes() {
    let strings = br#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>budget heading</t></si></sst>"#;
    let sheet = br#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
        <row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>1250</v></c></row>
        <row r="2"><c r="A2" t="inlineStr"><is><t>inline words</t></is></c></row>
        </sheetData></worksheet>"#;
    let bytes = zip_of(&[
        ("xl/sharedStrings.xml", strings),
        ("xl/worksheets/sheet1.xml", sheet),
    ]);
    let text = extract(&bytes, Format::Xlsx, &Limits::default()).unwrap();
    assert!(text.contains("budget heading"), "{text:?}");
    assert!(text.contains("1250"), "{text:?}");
    assert!(text.contains("inline words"), "{text:?}");
    assert!(!text.split_whitespace().any(|w| w == "0"), "{text:?}");
}

#[test]
fn col_05_pptx_slides_are_read_in_their_numbers_order() {
    let slide = |t: &str| {
        format!(r#"<p:sld xmlns:p="p" xmlns:a="a"><a:p><a:r><a:t>{t}</a:t></a:r></a:p></p:sld>"#)
    };
    let (s1, s2, s10) = (slide("one"), slide("two"), slide("ten"));
    let bytes = zip_of(&[
        ("ppt/slides/slide10.xml", s10.as_bytes()),
        ("ppt/slides/slide2.xml", s2.as_bytes()),
        ("ppt/slides/slide1.xml", s1.as_bytes()),
        (
            "ppt/slides/_rels/slide1.xml.rels",
            b"<Relationships>hidden</Relationships>",
        ),
    ]);
    let text = extract(&bytes, Format::Pptx, &Limits::default()).unwrap();
    assert_eq!(text, "one\ntwo\nten\n");
}

#[test]
fn col_05_opendocument_reads_the_body_with_its_spaces() {
    let content = br#"<office:document-content xmlns:office="o" xmlns:text="t"><office:body><office:text>
        <text:h>Title</text:h><text:p>two<text:s/>words</text:p></office:text></office:body></office:document-content>"#;
    let bytes = zip_of(&[("content.xml", content), ("styles.xml", b"<s>footer</s>")]);
    for format in [Format::Odt, Format::Ods, Format::Odp] {
        let text = extract(&bytes, format, &Limits::default()).unwrap();
        assert!(text.contains("Title\n"), "{text:?}");
        assert!(text.contains("two words"), "{text:?}");
        assert!(!text.contains("footer"), "{text:?}");
    }
}

#[test]
fn col_05_a_part_packed_like_a_bomb_is_refused() {
    // 4 MiB of one byte packs about 1000:1: far beyond any real document part.
    let filler = vec![b' '; 4 * 1024 * 1024];
    let mut xml = format!("<w:document {W}><w:body>").into_bytes();
    xml.extend_from_slice(&filler);
    xml.extend_from_slice(b"</w:body></w:document>");
    let bytes = zip_of(&[("word/document.xml", &xml)]);
    assert!(bytes.len() < 100_000, "it packs tightly: {}", bytes.len());
    assert_eq!(
        extract(&bytes, Format::Docx, &Limits::default()),
        Err(Unreadable::ArchiveTooLarge)
    );
}

#[test]
fn col_05_parts_together_may_not_unpack_beyond_the_budget() {
    let para = "<w:p><w:r><w:t>words and more words</w:t></w:r></w:p>".repeat(100);
    let bytes = docx(&para);
    let small = Limits {
        max_unpacked: 2_000,
        ..Limits::default()
    };
    assert_eq!(
        extract(&bytes, Format::Docx, &small),
        Err(Unreadable::ArchiveTooLarge)
    );
    assert!(extract(&bytes, Format::Docx, &Limits::default()).is_ok());
}

#[test]
fn col_05_nesting_deeper_than_the_limit_is_refused() {
    let deep = format!("{}{}", "<w:p>".repeat(300), "</w:p>".repeat(300));
    assert_eq!(
        extract(&docx(&deep), Format::Docx, &Limits::default()),
        Err(Unreadable::TooDeep)
    );
}

#[test]
fn col_05_entities_are_never_expanded() {
    let xml = format!(
        r#"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><w:document {W}><w:body><w:p><w:r><w:t>x&b;y</w:t></w:r></w:p></w:body></w:document>"#
    );
    let bytes = zip_of(&[("word/document.xml", xml.as_bytes())]);
    assert_eq!(
        extract(&bytes, Format::Docx, &Limits::default()).unwrap(),
        "xy\n"
    );
}

#[test]
fn col_05_more_text_than_the_limit_is_refused_not_cut() {
    let small = Limits {
        max_text: 10,
        ..Limits::default()
    };
    assert_eq!(extract(b"short", Format::Text, &small).unwrap(), "short");
    assert_eq!(
        extract(b"a little longer", Format::Text, &small),
        Err(Unreadable::TextTooLong)
    );
}

#[test]
fn col_05_damaged_files_are_reported_as_damaged() {
    assert_eq!(
        extract(b"not a zip", Format::Docx, &Limits::default()),
        Err(Unreadable::Malformed)
    );
    // A ZIP without any part that holds text.
    let empty = zip_of(&[("other.xml", b"<x/>")]);
    assert_eq!(
        extract(&empty, Format::Xlsx, &Limits::default()),
        Err(Unreadable::Malformed)
    );
    assert_eq!(
        extract(&[0xff, 0xfe, 0x00], Format::Text, &Limits::default()),
        Err(Unreadable::Malformed)
    );
    let unclosed = docx("<w:p><w:r><w:t>open");
    assert_eq!(
        extract(&unclosed, Format::Docx, &Limits::default()),
        Err(Unreadable::Malformed)
    );
}

/// A PDF of these objects (numbered from 1) with a correct cross-reference table.
fn pdf_of(objects: &[&[u8]]) -> Vec<u8> {
    let mut body = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, obj) in objects.iter().enumerate() {
        offsets.push(body.len());
        body.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        body.extend_from_slice(obj);
        body.extend_from_slice(b"\nendobj\n");
    }
    let xref = body.len();
    body.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        body.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    body.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    body
}

fn one_page_pdf(words: &str) -> Vec<u8> {
    let stream = format!("BT /F1 12 Tf 72 720 Td ({words}) Tj ET");
    let contents = format!(
        "<< /Length {} >>\nstream\n{stream}\nendstream",
        stream.len()
    );
    pdf_of(&[
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
           /Resources << /Font << /F1 5 0 R >> >> >>",
        contents.as_bytes(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ])
}

#[test]
fn col_05_pdf_pages_read_as_text() {
    let text = extract(
        &one_page_pdf("greenhouse heating"),
        Format::Pdf,
        &Limits::default(),
    )
    .unwrap();
    assert!(text.contains("greenhouse heating"), "{text:?}");
}

#[test]
fn col_05_a_pdf_cut_short_or_whose_page_tree_loops_is_damaged() {
    let whole = one_page_pdf("greenhouse heating");
    assert_eq!(
        extract(&whole[..whole.len() / 2], Format::Pdf, &Limits::default()),
        Err(Unreadable::Malformed)
    );
    let looping = pdf_of(&[
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 /Parent 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R] /Count 1 /Parent 2 0 R >>",
    ]);
    assert_eq!(
        extract(&looping, Format::Pdf, &Limits::default()),
        Err(Unreadable::Malformed)
    );
}

#[test]
fn col_05_formats_are_known_by_media_type() {
    assert_eq!(
        Format::of_media_type("text/plain; charset=utf-8"),
        Some(Format::Text)
    );
    assert_eq!(Format::of_media_type("application/pdf"), Some(Format::Pdf));
    assert_eq!(Format::of_media_type("image/png"), None);
    assert_eq!(Format::of_media_type("application/zip"), Some(Format::Zip));
    assert_eq!(Format::of_media_type("image/gif"), None);
    for f in Format::ALL {
        assert_eq!(f.as_str().parse::<Format>(), Ok(f));
    }
    for r in Unreadable::ALL {
        assert_eq!(Unreadable::from_code(r.code()), Some(r));
    }
}

#[test]
fn col_05_an_office_document_taken_for_a_zip_is_read_as_what_its_parts_show() {
    let doc = docx("<w:p><w:r><w:t>hidden type</w:t></w:r></w:p>");
    assert_eq!(
        extract(&doc, Format::Zip, &Limits::default()).unwrap(),
        "hidden type\n"
    );
    let odt = zip_of(&[
        ("mimetype", b"application/vnd.oasis.opendocument.text"),
        (
            "content.xml",
            b"<d xmlns:text=\"t\"><text:p>open words</text:p></d>",
        ),
    ]);
    assert_eq!(
        extract(&odt, Format::Zip, &Limits::default()).unwrap(),
        "open words\n"
    );
    // Any other archive has no text of its own.
    let other = zip_of(&[("notes.txt", b"inside an archive")]);
    assert_eq!(
        extract(&other, Format::Zip, &Limits::default()).unwrap(),
        ""
    );
}

/// Overwrites the uncompressed size that `zip` records for its only entry, in its local
/// header and in the central directory: a header that lies.
fn claim_size(zip: &mut [u8], size: u32) {
    let find = |zip: &[u8], sig: &[u8]| zip.windows(4).position(|w| w == sig).unwrap();
    let local = find(zip, b"PK\x03\x04");
    zip[local + 22..local + 26].copy_from_slice(&size.to_le_bytes());
    let central = find(zip, b"PK\x01\x02");
    zip[central + 24..central + 28].copy_from_slice(&size.to_le_bytes());
}

#[test]
fn col_05_a_part_whose_header_understates_its_size_is_not_read_beyond_it() {
    let mut xml = format!("<w:document {W}><w:body><w:p><w:r><w:t>").into_bytes();
    xml.extend(std::iter::repeat_n(b'a', 3 * 1024 * 1024));
    xml.extend_from_slice(b"</w:t></w:r></w:p></w:body></w:document>");
    let mut bytes = zip_of(&[("word/document.xml", &xml)]);
    claim_size(&mut bytes, 1_000);
    let small = Limits {
        max_unpacked: 1024 * 1024,
        ..Limits::default()
    };
    // The ZIP reader stops at the size claimed (the CRC then fails); the budget, which
    // counts the bytes actually unpacked (tested in `office.rs`), would stop it otherwise.
    let read = extract(&bytes, Format::Docx, &small);
    assert!(
        matches!(
            read,
            Err(Unreadable::Malformed | Unreadable::ArchiveTooLarge)
        ),
        "{read:?}"
    );
}
