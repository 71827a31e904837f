"""Text recognition for scans: rapidocr-onnxruntime (its wheel carries the models), optional and bounded.

Bounds keep one huge scan from stalling a run: at most `MAX_PAGES` pages of a file are recognised,
images are scaled down to `MAX_SIDE` pixels on their long side, and an image whose header claims more
than `MAX_PIXELS` is refused before it is decoded. The engine loads once per process.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Iterable
from typing import Any

from assistant.ingest.readers.base import SkipFile

MAX_PAGES = 30
MAX_SIDE = 2000
MAX_PIXELS = 80_000_000
PDF_DPI = 200
EXTRA_HINT = "pip install 'private-assistant[ocr]'"


def available() -> bool:
    """Are the OCR extra's packages installed?"""
    return all(importlib.util.find_spec(m) is not None for m in ("rapidocr_onnxruntime", "PIL"))


def missing(what: str) -> SkipFile:
    """The skip for a scan when OCR is not installed: names the extra that adds it."""
    return SkipFile(f"{what}: text recognition needs the `ocr` extra ({EXTRA_HINT})")


@functools.lru_cache(maxsize=1)
def _engine() -> Any:
    from rapidocr_onnxruntime import RapidOCR

    threads = os.cpu_count() or 1
    return RapidOCR(
        det_intra_op_num_threads=threads, cls_intra_op_num_threads=threads, rec_intra_op_num_threads=threads
    )


def fit(image: Any) -> Any:
    """An RGB copy no larger than MAX_SIDE on its long side (recognition cost grows with the area)."""
    image = image.convert("RGB")
    scale = MAX_SIDE / max(image.size)
    if scale < 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size)
    return image


def recognise(image: Any) -> str:
    """The text of one page image, line by line in reading order; paragraphs a blank line apart."""
    import numpy as np

    result, _elapsed = _engine()(np.asarray(fit(image)))
    return _layout((box, text) for box, text, _score in result or [])


def _layout(items: Iterable[tuple[Any, str]]) -> str:
    """Boxes -> lines (boxes whose vertical centres are close) -> paragraphs (where the gap is wide)."""
    boxes = []
    for box, text in items:
        ys = [p[1] for p in box]
        boxes.append((min(ys), max(ys), min(p[0] for p in box), text.strip()))
    boxes.sort()
    lines: list[list[tuple[float, float, float, str]]] = []
    for top, bottom, left, text in boxes:
        if not text:
            continue
        if lines:
            last = lines[-1]
            l_top, l_bottom = min(b[0] for b in last), max(b[1] for b in last)
            if (top + bottom) / 2 < l_bottom and (top + bottom) / 2 > l_top:
                last.append((top, bottom, left, text))
                continue
        lines.append([(top, bottom, left, text)])
    out: list[str] = []
    prev_bottom, prev_height = None, 0.0
    for line in lines:
        top = min(b[0] for b in line)
        height = max(b[1] for b in line) - top
        if prev_bottom is not None and top - prev_bottom > max(height, prev_height):
            out.append("")
        out.append(" ".join(b[3] for b in sorted(line, key=lambda b: b[2])))
        prev_bottom, prev_height = max(b[1] for b in line), height
    return "\n".join(out).strip()


def check_size(width: int, height: int) -> None:
    """Refuse an image too large to decode safely (checked from its header, before decoding)."""
    if width * height > MAX_PIXELS:
        raise SkipFile(f"image too large for text recognition ({width}x{height} pixels)")


def pdf_pages(data: bytes, numbers: list[int]) -> Iterable[tuple[int, Any]]:
    """(page number, PIL image) for the 1-based `numbers`, rendered at PDF_DPI within MAX_SIDE."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        for number in numbers:
            page = pdf[number - 1]
            try:
                width, height = page.get_size()  # points (1/72 inch)
                scale = min(PDF_DPI / 72, MAX_SIDE / max(width, height, 1))
                yield number, page.render(scale=scale).to_pil()
            finally:
                page.close()
    finally:
        pdf.close()
