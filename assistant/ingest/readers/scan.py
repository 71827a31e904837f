"""Reader for scans and photos (.png .jpg .jpeg .tif .tiff): text recognition, one section per page."""

from __future__ import annotations

import io
from pathlib import Path

from assistant.ingest import ocr
from assistant.ingest.readers.base import SkipFile, document_date
from assistant.ingest.types import Document, Section


def read_image(path: Path, data: bytes) -> Document:
    if not ocr.available():
        raise ocr.missing("image")
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise SkipFile(f"unreadable image: {str(exc)[:120]}") from None
    ocr.check_size(image.width, image.height)
    frames = getattr(image, "n_frames", 1)
    sections: list[Section] = []
    offset = 0
    for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
        if number > ocr.MAX_PAGES:
            break
        text = ocr.recognise(frame)
        if text:
            meta = {"ocr": True, **({"page": number} if frames > 1 else {})}
            sections.append(Section(text=text, start=offset, meta=meta))
            offset += len(text) + 2
    if not sections:
        raise SkipFile("no text recognised in the image")
    date = document_date(sections[0].text, path.name)
    if date:
        sections = [Section(s.text, s.start, s.header, s.title, date, s.meta) for s in sections]
    title = sections[0].text.splitlines()[0].strip()[:120] or path.stem
    return Document(str(path), "document", title, tuple(sections))
