"""Split documents into chunks along their structure: sections, then paragraphs, then sentences.

Chunks never cross a section (an e-mail, an event, a record), fill up to `max_tokens` with whole
paragraphs, and repeat the tail of the previous chunk (up to `overlap` tokens) so that a fact cut at
a boundary is still found. Token counts are a fast word-and-punctuation estimate, close to the
embedder's word pieces for English; `max_tokens` stays under the model's 256-piece window.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from assistant.ingest.types import Chunk, Document, Section

TOKEN_RE = re.compile(r"\w+|[^\w\s]")
PARAGRAPH_BREAK_RE = re.compile(r"\n[ \t]*\n\s*")
SENTENCE_END = {".", "!", "?"}

DEFAULT_MAX_TOKENS = 180
DEFAULT_OVERLAP = 30


def count_tokens(text: str) -> int:
    return sum(1 for _ in TOKEN_RE.finditer(text))


@dataclass(frozen=True)
class _Piece:
    """A span of a section's text: [start, end) relative to the section, with its token count."""

    start: int
    end: int
    tokens: int


def _paragraphs(text: str) -> list[_Piece]:
    pieces: list[_Piece] = []
    pos = 0
    for match in PARAGRAPH_BREAK_RE.finditer(text):
        _add_piece(pieces, text, pos, match.start())
        pos = match.end()
    _add_piece(pieces, text, pos, len(text))
    return pieces


def _add_piece(pieces: list[_Piece], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        pieces.append(_Piece(start, end, count_tokens(text[start:end])))


def _split_long(text: str, piece: _Piece, max_tokens: int, overlap: int) -> list[_Piece]:
    """Cut one over-long paragraph into windows, ending at a sentence end where one is near."""
    spans = [
        (m.start() + piece.start, m.end() + piece.start)
        for m in TOKEN_RE.finditer(text[piece.start : piece.end])
    ]
    out: list[_Piece] = []
    i = 0
    while i < len(spans):
        j = min(i + max_tokens, len(spans))
        if j < len(spans):
            # back off to the last sentence end in the second half of the window
            for k in range(j - 1, i + max_tokens // 2, -1):
                if text[spans[k][0] : spans[k][1]] in SENTENCE_END:
                    j = k + 1
                    break
        out.append(_Piece(spans[i][0], spans[j - 1][1], j - i))
        if j >= len(spans):
            break
        i = max(j - overlap, i + 1)
    return out


def _windows(text: str, max_tokens: int, overlap: int) -> Iterator[tuple[int, int]]:
    """(start, end) spans of a section's chunks, packed paragraph by paragraph with overlap."""
    pieces: list[_Piece] = []
    for para in _paragraphs(text):
        pieces.extend(_split_long(text, para, max_tokens, overlap) if para.tokens > max_tokens else [para])
    current: list[_Piece] = []
    tokens = 0
    fresh = False  # does `current` hold anything not yet emitted?
    for piece in pieces:
        if current and tokens + piece.tokens > max_tokens:
            if fresh:
                yield current[0].start, current[-1].end
            # keep trailing pieces that fit in the overlap budget (and leave room for the new one)
            kept: list[_Piece] = []
            kept_tokens = 0
            for prev in reversed(current):
                if (
                    kept_tokens + prev.tokens > overlap
                    or kept_tokens + prev.tokens + piece.tokens > max_tokens
                ):
                    break
                kept.insert(0, prev)
                kept_tokens += prev.tokens
            current, tokens = kept, kept_tokens
        current.append(piece)
        tokens += piece.tokens
        fresh = True
    if current and fresh:
        yield current[0].start, current[-1].end


def chunk_section(
    section: Section, *, max_tokens: int = DEFAULT_MAX_TOKENS, overlap: int = DEFAULT_OVERLAP
) -> Iterator[tuple[str, int, int]]:
    """(chunk text with the section header, absolute start, absolute end) for one section."""
    budget = max(16, max_tokens - count_tokens(section.header)) if section.header else max_tokens
    found = False
    for start, end in _windows(section.text, budget, min(overlap, budget // 2)):
        found = True
        body = section.text[start:end]
        text = f"{section.header}\n{body}" if section.header else body
        yield text, section.start + start, section.start + end
    if not found and section.header:  # an event or contact with no body is still worth finding
        yield section.header, section.start, section.start


def chunk_document(
    doc: Document, *, max_tokens: int = DEFAULT_MAX_TOKENS, overlap: int = DEFAULT_OVERLAP
) -> list[Chunk]:
    """All chunks of a document, numbered in order."""
    if max_tokens < 8 or overlap < 0 or overlap >= max_tokens:
        raise ValueError("need max_tokens >= 8 and 0 <= overlap < max_tokens")
    chunks: list[Chunk] = []
    for section in doc.sections:
        for text, start, end in chunk_section(section, max_tokens=max_tokens, overlap=overlap):
            chunks.append(
                Chunk(
                    text=text,
                    path=doc.path,
                    source=doc.source,
                    index=len(chunks),
                    start=start,
                    end=end,
                    title=section.title or doc.title,
                    date=section.date,
                    meta=dict(section.meta),
                )
            )
    return chunks
