"""Shared helpers for readers: the skip signal, decoding with a fallback, dates found in text."""

from __future__ import annotations

import datetime as dt
import re

BINARY_SNIFF_BYTES = 8192


class SkipFile(Exception):
    """Raised by a reader for a file that cannot be indexed; `reason` goes into the summary."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def looks_binary(data: bytes) -> bool:
    """NUL bytes or mostly control characters in the first few KiB: not a text file."""
    head = data[:BINARY_SNIFF_BYTES]
    if b"\x00" in head:
        return True
    if not head:
        return False
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls / len(head) > 0.10


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM); a few bad bytes are replaced, a legacy file falls back to cp1252."""
    if looks_binary(data):
        raise SkipFile("binary file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")
    if text.count("\ufffd") <= max(2, len(data) // 200):
        return text  # mostly UTF-8 with some corrupt bytes
    return data.decode("cp1252", errors="replace")  # legacy Windows/Latin-1 text


MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for name in names
}
_MONTH = r"(?P<mon>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
DATE_PATTERNS = [
    re.compile(r"\b(?P<y>(?:19|20)\d\d)-(?P<m>[01]\d)-(?P<d>[0-3]\d)\b"),
    re.compile(r"\b(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<y>(?:19|20)\d\d)\b", re.I),
    re.compile(r"\b" + _MONTH + r"\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d\d)\b", re.I),
]
DATE_LINE_RE = re.compile(r"^\s*(?:date|dated|created|date of letter)\s*:\s*(?P<rest>.+)$", re.I | re.M)


def find_date(text: str) -> str | None:
    """The first calendar date in `text` as ISO (YYYY-MM-DD), in the common written forms."""
    best: tuple[int, str] | None = None
    for pattern in DATE_PATTERNS:
        for match in pattern.finditer(text):
            month = int(match.group("m")) if "m" in match.groupdict() and match.group("m") else None
            if month is None:
                month = MONTHS[match.group("mon").lower().rstrip(".")]
            try:
                day = dt.date(int(match.group("y")), month, int(match.group("d")))
            except ValueError:
                continue
            if best is None or match.start() < best[0]:
                best = (match.start(), day.isoformat())
            break
    return best[1] if best else None


def document_date(text: str, filename: str) -> str | None:
    """A note's or letter's own date: a `Date:` line near the top, else a date in the file name."""
    head = text[:2000]
    for match in DATE_LINE_RE.finditer(head):
        found = find_date(match.group("rest"))
        if found:
            return found
    return find_date(filename)
