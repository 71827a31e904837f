"""Readers for e-mail: single messages (.eml) and mailboxes (.mbox); one section per message."""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

from assistant.ingest.readers.base import SkipFile, decode_text
from assistant.ingest.types import Document, Section

HEADERS = ("from", "to", "cc", "date", "subject")
FROM_LINE_RE = re.compile(rb"(?m)^From [^\n]*\n")


def _header(msg: EmailMessage, name: str) -> str:
    try:
        value = msg.get(name)
    except (ValueError, IndexError, TypeError):  # malformed header: keep the raw text
        value = next((v for k, v in msg.raw_items() if k.lower() == name), None)
    return " ".join(str(value).split()) if value is not None else ""


def _iso_date(raw: str) -> str | None:
    if not raw:
        return None
    try:
        return email.utils.parsedate_to_datetime(raw).isoformat()
    except (TypeError, ValueError, IndexError):
        return None


def _part_text(part: Any) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # unknown charset or broken transfer encoding
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace")
    if isinstance(content, bytes):
        content = content.decode("utf-8", errors="replace")
    return str(content)


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _part_text(part)
    if part.get_content_subtype() == "html":
        from bs4 import BeautifulSoup

        from assistant.ingest.readers.text import html_to_text

        text = html_to_text(BeautifulSoup(text, "html.parser"))
    return text.replace("\r\n", "\n").strip()


def message_section(msg: EmailMessage, start: int) -> Section:
    """One message as a section: the header line says who, to whom, when and about what."""
    fields = {name: _header(msg, name) for name in HEADERS}
    date = _iso_date(fields["date"])
    attachments = [p.get_filename() for p in msg.iter_attachments() if p.get_filename()]
    parts = [f"E-mail from {fields['from'] or 'unknown sender'}"]
    if fields["to"]:
        parts.append(f"to {fields['to']}")
    if fields["cc"]:
        parts.append(f"cc {fields['cc']}")
    if date:
        parts.append(f"on {date[:16].replace('T', ' ')}")
    header = " ".join(parts) + (f"\nSubject: {fields['subject']}" if fields["subject"] else "")
    if attachments:
        header += "\nAttachments: " + ", ".join(attachments)
    meta: dict[str, Any] = {k: v for k, v in fields.items() if v and k != "date"}
    return Section(
        text=_body(msg), start=start, header=header, title=fields["subject"] or None, date=date, meta=meta
    )


def _parse(data: bytes) -> EmailMessage:
    return cast(EmailMessage, email.message_from_bytes(data, policy=email.policy.default))


def read_eml(path: Path, data: bytes) -> Document:
    decode_text(data)  # raises SkipFile for binary data
    msg = _parse(data)
    if not any(_header(msg, name) for name in HEADERS):
        raise SkipFile("not an e-mail message (no From/To/Date/Subject header)")
    section = message_section(msg, 0)
    if not section.text and not section.header:
        raise SkipFile("no text")
    return Document(str(path), "email", section.title or path.stem, (section,))


def read_mbox(path: Path, data: bytes) -> Document:
    """Messages start at `From ` lines (mbox quotes body lines that would look like one)."""
    decode_text(data[:65536])  # raises SkipFile for binary data
    sections: list[Section] = []
    offset = 0
    for raw in FROM_LINE_RE.split(data):
        if not raw.strip():
            continue
        section = message_section(_parse(raw), offset)
        sections.append(section)
        offset += len(section.text) + 2
    if not sections:
        raise SkipFile("no messages in mailbox")
    return Document(str(path), "email", path.stem, tuple(sections))
