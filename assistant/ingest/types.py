"""Typed values of the ingest layer: what readers return and what the chunker hands the indexer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Section:
    """One structural unit of a document: a note body, one e-mail, one event, one record, one contact.

    `start` is the character offset of `text` in the reader's extracted text of the file (for plain
    text and Markdown that is the decoded file itself). `header` is context prepended to every chunk
    of the section (who wrote to whom, when) and is not part of the offsets.
    """

    text: str
    start: int = 0
    header: str = ""
    title: str | None = None
    date: str | None = None  # ISO 8601 date or datetime, where the source has one
    meta: dict[str, Any] = field(default_factory=dict)  # from/to/subject/location/page ...


@dataclass(frozen=True)
class Document:
    """A file read into sections; `source` is the kind searches filter on (meta["source"])."""

    path: str
    source: str  # note | email | calendar | contact | document | record
    title: str
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class Chunk:
    """A piece of one section, small enough for the embedder, with where it came from."""

    text: str  # what is embedded and stored: header + body slice
    path: str
    source: str
    index: int  # position within the document
    start: int  # offsets of the body slice in the extracted text
    end: int
    title: str | None = None
    date: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def store_meta(self) -> dict[str, Any]:
        """The record's meta (sealed by the store): path, title, date, source, offsets, extras."""
        out: dict[str, Any] = {
            "path": self.path,
            "source": self.source,
            "start": self.start,
            "end": self.end,
            "chunk": self.index,
        }
        if self.title:
            out["title"] = self.title
        if self.date:
            out["date"] = self.date
        out.update(self.meta)
        return out


@dataclass(frozen=True)
class Skipped:
    """A file the indexer did not index, and why (shown to the user, kept out of the store)."""

    path: str
    reason: str
