"""Reader registry: file extension -> reader; `read_document` turns one file into a Document or a skip."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from assistant.ingest.readers.base import SkipFile
from assistant.ingest.readers.mail import read_eml, read_mbox
from assistant.ingest.readers.office import read_docx, read_pdf
from assistant.ingest.readers.pim import read_ics, read_vcf
from assistant.ingest.readers.scan import read_image
from assistant.ingest.readers.text import read_csv, read_html, read_json, read_markdown, read_plain
from assistant.ingest.types import Document

Reader = Callable[[Path, bytes], Document]

READERS: dict[str, Reader] = {
    ".txt": read_plain,
    ".text": read_plain,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".pdf": read_pdf,
    ".docx": read_docx,
    ".html": read_html,
    ".htm": read_html,
    ".eml": read_eml,
    ".mbox": read_mbox,
    ".ics": read_ics,
    ".json": read_json,
    ".csv": read_csv,
    ".vcf": read_vcf,
    ".png": read_image,  # scans and photos: text recognition (the `ocr` extra)
    ".jpg": read_image,
    ".jpeg": read_image,
    ".tif": read_image,
    ".tiff": read_image,
}

__all__ = ["READERS", "SkipFile", "read_document", "reader_for"]


def reader_for(path: Path) -> Reader | None:
    return READERS.get(path.suffix.lower())


def read_document(path: Path, data: bytes) -> Document:
    """Parse the bytes of `path` with the reader for its type.

    Raises:
        SkipFile: unknown type, empty, binary where text was expected, or malformed; `reason` says which.
    """
    reader = reader_for(path)
    if reader is None:
        raise SkipFile(f"unsupported type {path.suffix.lower() or '(no extension)'}")
    if not data.strip():
        raise SkipFile("empty file")
    try:
        return reader(path, data)
    except SkipFile:
        raise
    except RecursionError:
        raise SkipFile("too deeply nested to parse") from None
    except Exception as exc:
        # third-party parsers on untrusted files raise all sorts (struct.error, zlib.error, ...);
        # a malformed file must never stop a run over a whole folder
        raise SkipFile(f"could not parse: {type(exc).__name__}: {str(exc)[:120]}") from None
