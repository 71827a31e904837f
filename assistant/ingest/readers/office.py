"""Readers for office documents: PDF (pypdf, one section per page) and Word .docx (python-docx).

PDF pages without a text layer (scans) go through text recognition when the `ocr` extra is there;
their sections are marked `ocr: true`.
"""

from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path

from assistant.ingest import ocr
from assistant.ingest.readers.base import SkipFile, document_date
from assistant.ingest.types import Document, Section


def read_pdf(path: Path, data: bytes) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise SkipFile("not a PDF file (no %PDF header)")
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # pypdf warns on every small defect
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise SkipFile("encrypted PDF (remove the password, then index it again)")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title = (info.title if info else None) or ""
    except SkipFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise SkipFile(f"unreadable PDF: {type(exc).__name__}: {str(exc)[:120]}") from None
    texts = {number: text.strip() for number, text in enumerate(pages, start=1)}
    blank = [n for n, text in texts.items() if not text]
    recognised: set[int] = set()
    if blank and ocr.available():
        for number, image in ocr.pdf_pages(data, blank[: ocr.MAX_PAGES]):
            texts[number] = ocr.recognise(image)
            recognised.add(number)
    sections: list[Section] = []
    offset = 0
    for number, text in texts.items():
        if text:
            meta = {"page": number, **({"ocr": True} if number in recognised else {})}
            sections.append(Section(text=text, start=offset, meta=meta))
            offset += len(text) + 2
    if not sections:
        if blank and not ocr.available():
            raise ocr.missing("scanned PDF (no text layer)")
        raise SkipFile("no text in PDF" + (" (none recognised on its scanned pages)" if recognised else ""))
    date = document_date(sections[0].text, path.name)
    if date:
        sections = [Section(s.text, s.start, s.header, s.title, date, s.meta) for s in sections]
    first_line = sections[0].text.splitlines()[0].strip()[:120]
    return Document(str(path), "document", str(title).strip() or first_line or path.stem, tuple(sections))


def read_docx(path: Path, data: bytes) -> Document:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise SkipFile(f"unreadable Word document (not a valid .docx package): {str(exc)[:80]}") from None
    blocks = [p.text.strip() for p in document.paragraphs if p.text.strip()]
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells]
            if any(cells):
                blocks.append(" | ".join(cells))
    text = "\n\n".join(blocks)
    if not text:
        raise SkipFile("no text")
    title = (document.core_properties.title or "").strip() or blocks[0][:120]
    section = Section(text=text, start=0, date=document_date(text, path.name))
    return Document(str(path), "document", title, (section,))
