"""Where a passage sits in its file, from a record's meta: the page, the message or the event."""

from __future__ import annotations

from typing import Any


def locate(meta: dict[str, Any]) -> str:
    """A short, checkable pointer into the source: 'page 3', 'e-mail "Lab results" from ..., 2025-03-02'."""
    kind = meta.get("source")
    date = str(meta.get("date") or "")[:16].replace("T", " ")
    parts: list[str] = []
    if kind == "email":
        subject = meta.get("subject") or meta.get("title")
        sender = f" from {meta['from']}" if meta.get("from") else ""
        parts.append((f'e-mail "{subject}"' if subject else "e-mail") + sender)
        if date:
            parts.append(date)
    elif kind == "calendar":
        parts.append(f'event "{meta.get("title") or "untitled"}"')
        if date:
            parts.append(date)
        if meta.get("location"):
            parts.append(f"at {meta['location']}")
    elif meta.get("page") is not None:
        parts.append(f"page {meta['page']}")
    elif meta.get("record") is not None:
        parts.append(f"record {int(meta['record']) + 1}")
    if meta.get("ocr"):
        parts.append("text recognised from a scan")
    return ", ".join(parts)
