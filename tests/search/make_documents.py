"""Makes the documents the search tests upload (issue 23, COL-05).

Usage: make_documents.py OUTDIR CANARY [--hostile]

Real documents, written by the libraries people's tools are built on (python-docx, openpyxl,
odfpy, fpdf2; `cargo xtask test` installs them into target/pydeps), each carrying CANARY in
its text: canary.pdf, canary.docx, canary.odt, canary.ods, canary.odp, canary.xlsx.

With --hostile, also the hostile ones, each of which must be recorded as unreadable while the
server keeps answering: bomb.docx (a real DOCX whose document part unpacks to 160 MB of
paragraphs, beyond the reader's 128 MiB budget, at a ratio of about 1000:1), loop.pdf (a PDF whose page tree refers to itself), truncated.pdf (a
real PDF cut in half) and big.txt (50 MB of text).
"""

import io
import sys
import zipfile
from pathlib import Path

from docx import Document
from fpdf import FPDF
from odf.draw import Frame, Page, TextBox
from odf.opendocument import (
    OpenDocumentPresentation,
    OpenDocumentSpreadsheet,
    OpenDocumentText,
)
from odf.style import MasterPage, PageLayout
from odf.table import Table, TableCell, TableRow
from odf.text import P
from openpyxl import Workbook


def pdf(canary: str) -> bytes:
    doc = FPDF()
    doc.add_page()
    doc.set_font("helvetica", size=12)
    doc.multi_cell(0, 10, f"Quarterly review of the pilot. The code word is {canary}.")
    doc.add_page()
    doc.multi_cell(0, 10, "A second page about greenhouse heating.")
    return bytes(doc.output())


def docx(canary: str) -> bytes:
    doc = Document()
    doc.add_heading("Pilot report", level=1)
    doc.add_paragraph(f"The code word is {canary}, in a Word document.")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def xlsx(canary: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Budget"
    sheet.append(["Item", "Cost"])
    sheet.append([f"code {canary}", 1250])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def odt(canary: str) -> bytes:
    doc = OpenDocumentText()
    doc.text.addElement(P(text=f"The code word is {canary}, in an OpenDocument text."))
    out = io.BytesIO()
    doc.write(out)
    return out.getvalue()


def ods(canary: str) -> bytes:
    doc = OpenDocumentSpreadsheet()
    table = Table(name="Sheet1")
    row = TableRow()
    cell = TableCell()
    cell.addElement(P(text=f"spreadsheet {canary}"))
    row.addElement(cell)
    table.addElement(row)
    doc.spreadsheet.addElement(table)
    out = io.BytesIO()
    doc.write(out)
    return out.getvalue()


def odp(canary: str) -> bytes:
    doc = OpenDocumentPresentation()
    layout = PageLayout(name="Layout")
    doc.automaticstyles.addElement(layout)
    master = MasterPage(name="Master", pagelayoutname=layout)
    doc.masterstyles.addElement(master)
    page = Page(masterpagename=master)
    frame = Frame(width="20cm", height="3cm", x="1cm", y="1cm")
    box = TextBox()
    box.addElement(P(text=f"slide {canary}"))
    frame.addElement(box)
    page.addElement(frame)
    doc.presentation.addElement(page)
    out = io.BytesIO()
    doc.write(out)
    return out.getvalue()


def bomb_docx() -> bytes:
    """A DOCX made by python-docx whose document part is replaced by 160 MB of paragraphs."""
    real = zipfile.ZipFile(io.BytesIO(docx("harmless")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in real.infolist():
            if item.filename == "word/document.xml":
                continue
            z.writestr(item, real.read(item.filename))
        with z.open("word/document.xml", "w", force_zip64=True) as part:
            part.write(
                b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                b'wordprocessingml/2006/main"><w:body>'
            )
            chunk = b"<w:p><w:r><w:t>a</w:t></w:r></w:p>" * 30_000
            for _ in range(160_000_000 // len(chunk)):
                part.write(chunk)
            part.write(b"</w:body></w:document>")
    return out.getvalue()


def loop_pdf() -> bytes:
    """A PDF whose page tree's only kid is the tree itself."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 /Parent 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R] /Count 1 /Parent 2 0 R >>",
    ]
    body = io.BytesIO()
    body.write(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(body.tell())
        body.write(b"%d 0 obj\n" % number + obj + b"\nendobj\n")
    xref = body.tell()
    body.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        body.write(b"%010d 00000 n \n" % offset)
    body.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, xref)
    )
    return body.getvalue()


def main() -> None:
    out = Path(sys.argv[1])
    canary = sys.argv[2]
    out.mkdir(parents=True, exist_ok=True)
    for name, make in [
        ("canary.pdf", pdf),
        ("canary.docx", docx),
        ("canary.xlsx", xlsx),
        ("canary.odt", odt),
        ("canary.ods", ods),
        ("canary.odp", odp),
    ]:
        (out / name).write_bytes(make(canary))
    if "--hostile" not in sys.argv[3:]:
        return
    (out / "bomb.docx").write_bytes(bomb_docx())
    (out / "loop.pdf").write_bytes(loop_pdf())
    whole = pdf("truncated")
    (out / "truncated.pdf").write_bytes(whole[: len(whole) // 2])
    line = b"The quick brown fox jumps over the lazy dog near the river bank.\n"
    (out / "big.txt").write_bytes(line * (50_000_000 // len(line) + 1))


if __name__ == "__main__":
    main()
