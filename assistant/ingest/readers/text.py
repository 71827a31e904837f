"""Readers for text formats: plain text, Markdown, HTML, and JSON / CSV records."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from assistant.ingest.readers.base import SkipFile, decode_text, document_date, find_date
from assistant.ingest.types import Document, Section

FRONT_MATTER_RE = re.compile(r"\A---\s*\n(?P<body>.*?)\n---\s*\n", re.S)
HEADING_RE = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$", re.M)
DATE_KEYS = ("date", "datetime", "timestamp", "time", "created", "created_at", "when", "day")
MAX_RECORD_DEPTH = 4


def _title_line(text: str, fallback: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:120]
    return fallback


def read_plain(path: Path, data: bytes) -> Document:
    text = decode_text(data)
    if not text.strip():
        raise SkipFile("no text")
    date = document_date(text, path.name)
    section = Section(text=text, start=0, date=date)
    return Document(str(path), "note", _title_line(text, path.stem), (section,))


def read_markdown(path: Path, data: bytes) -> Document:
    text = decode_text(data)
    if not text.strip():
        raise SkipFile("no text")
    title = None
    front = FRONT_MATTER_RE.match(text)
    if front:
        for line in front.group("body").splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() == "title" and value.strip():
                title = value.strip().strip("\"'")
    heading = HEADING_RE.search(text)
    if title is None and heading:
        title = heading.group("title")
    date = document_date(text, path.name)
    section = Section(text=text, start=0, date=date)
    return Document(str(path), "note", title or _title_line(text, path.stem), (section,))


def read_html(path: Path, data: bytes) -> Document:
    from bs4 import BeautifulSoup

    text = decode_text(data)
    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    body = html_to_text(soup)
    if not body:
        raise SkipFile("no text")
    section = Section(text=body, start=0, date=document_date(body, path.name))
    return Document(str(path), "document", title or _title_line(body, path.stem), (section,))


def html_to_text(soup: Any) -> str:
    """Visible text of a parsed page, one block per paragraph."""
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in soup.get_text("\n").splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _render(value: Any, label: str = "", depth: int = 0) -> list[str]:
    """Flatten a JSON value into `key: value` lines a person (and the embedder) can read."""
    if isinstance(value, dict) and depth < MAX_RECORD_DEPTH:
        return [
            line
            for key, item in value.items()
            for line in _render(item, f"{label}.{key}" if label else str(key), depth + 1)
        ]
    nested = isinstance(value, list) and any(isinstance(v, dict | list) for v in value)
    if nested and depth < MAX_RECORD_DEPTH:
        return [line for i, item in enumerate(value) for line in _render(item, f"{label}[{i}]", depth + 1)]
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    return [f"{label}: {value}" if label else str(value)]


def _record_date(record: dict[str, Any]) -> str | None:
    for key, value in record.items():
        if str(key).lower() in DATE_KEYS and isinstance(value, str | int | float):
            found = find_date(str(value))
            if found:
                return found
    return None


def _record_sections(records: list[Any], label: str) -> tuple[Section, ...]:
    sections: list[Section] = []
    offset = 0
    for i, record in enumerate(records):
        text = "\n".join(_render(record))
        if not text.strip():
            continue
        date = _record_date(record) if isinstance(record, dict) else None
        sections.append(
            Section(text=text, start=offset, header=f"{label} record {i + 1}", date=date, meta={"record": i})
        )
        offset += len(text) + 2  # records are laid out one after another, a blank line apart
    return tuple(sections)


def read_json(path: Path, data: bytes) -> Document:
    text = decode_text(data)
    if not text.strip():
        raise SkipFile("no text")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SkipFile(f"invalid JSON: {exc.msg} at line {exc.lineno}") from None
    records: list[Any]
    if isinstance(value, list):
        records = value
    elif isinstance(value, dict):
        lists = [
            v for v in value.values() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)
        ]
        records = lists[0] if len(lists) == 1 and len(value) <= 3 else [value]
    else:
        records = [value]
    sections = _record_sections(records, path.stem)
    if not sections:
        raise SkipFile("no records")
    return Document(str(path), "record", path.stem, sections)


def read_csv(path: Path, data: bytes) -> Document:
    text = decode_text(data)
    if not text.strip():
        raise SkipFile("no text")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.DictReader(io.StringIO(text), dialect=dialect))
    except csv.Error as exc:
        raise SkipFile(f"invalid CSV: {exc}") from None
    records = [{k: v for k, v in row.items() if k is not None and v not in (None, "")} for row in rows]
    sections = _record_sections(records, path.stem)
    if not sections:
        raise SkipFile("no records")
    return Document(str(path), "record", path.stem, sections)
