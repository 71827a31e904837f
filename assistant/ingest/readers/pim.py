"""Readers for calendars (.ics: one section per event or to-do, dated) and contacts (.vcf)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from assistant.ingest.readers.base import SkipFile, decode_text
from assistant.ingest.types import Document, Section


def _when(value: Any) -> dt.date | dt.datetime | None:
    inner = getattr(value, "dt", value)
    return inner if isinstance(inner, dt.date) else None


def _fmt(when: dt.date | dt.datetime) -> str:
    if isinstance(when, dt.datetime):
        return when.strftime("%Y-%m-%d %H:%M") + (f" {when.tzname()}" if when.tzinfo else "")
    return when.isoformat()


def _event_section(component: Any, start: int) -> Section:
    kind = "To-do" if component.name == "VTODO" else "Event"
    summary = str(component.get("summary", "")).strip() or "(untitled)"
    begin = _when(component.get("dtstart")) or _when(component.get("due"))
    end = _when(component.get("dtend"))
    header = f"{kind}: {summary}"
    if begin:
        header += f"\nWhen: {_fmt(begin)}" + (f" to {_fmt(end)}" if end else "")
    location = str(component.get("location", "")).strip()
    if location:
        header += f"\nWhere: {location}"
    if component.get("rrule"):
        rule = component.get("rrule").to_ical().decode()
        header += f"\nRepeats: {rule}"
    attendees = component.get("attendee") or []
    if not isinstance(attendees, list):
        attendees = [attendees]
    names = [a.params.get("CN") or str(a).removeprefix("mailto:") for a in attendees]
    if names:
        header += "\nWith: " + ", ".join(str(n) for n in names)
    description = str(component.get("description", "")).strip()
    meta = {"location": location} if location else {}
    date = begin.isoformat() if begin else None
    return Section(text=description, start=start, header=header, title=summary, date=date, meta=meta)


def read_ics(path: Path, data: bytes) -> Document:
    import icalendar

    decode_text(data)  # raises SkipFile for binary data
    try:
        calendars = icalendar.Calendar.from_ical(data, multiple=True)
    except (ValueError, KeyError, IndexError) as exc:
        raise SkipFile(f"invalid calendar: {str(exc)[:120]}") from None
    sections: list[Section] = []
    offset = 0
    for calendar in calendars:
        for component in calendar.walk():
            if component.name in ("VEVENT", "VTODO"):
                section = _event_section(component, offset)
                sections.append(section)
                offset += len(section.text) + 2
    if not sections:
        raise SkipFile("no events in calendar")
    return Document(str(path), "calendar", path.stem, tuple(sections))


VCARD_RE = re.compile(r"BEGIN:VCARD\s*\n(?P<body>.*?)\nEND:VCARD", re.S | re.I)
LABELS = {
    "FN": "Name",
    "ORG": "Organization",
    "TITLE": "Title",
    "TEL": "Phone",
    "EMAIL": "E-mail",
    "ADR": "Address",
    "BDAY": "Birthday",
    "URL": "Web",
    "NOTE": "Note",
    "ROLE": "Role",
    "RELATED": "Related",
}


def _unescape(value: str) -> str:
    return value.replace("\\n", "\n").replace("\\N", "\n").replace("\\,", ",").replace("\\;", ";")


def _card_lines(body: str) -> list[tuple[str, str, str]]:
    """(property, type parameters, value) for each unfolded line of one vCard."""
    unfolded = re.sub(r"\n[ \t]", "", body.replace("\r\n", "\n"))
    out = []
    for line in unfolded.splitlines():
        head, sep, value = line.partition(":")
        if not sep:
            continue
        name, *params = head.split(";")
        name = name.split(".")[-1].upper()  # item1.EMAIL -> EMAIL
        types = [p.split("=", 1)[-1].lower() for p in params if p.upper().startswith("TYPE=") or "=" not in p]
        out.append((name, ",".join(types), value.strip()))
    return out


def read_vcf(path: Path, data: bytes) -> Document:
    text = decode_text(data)
    sections: list[Section] = []
    offset = 0
    for match in VCARD_RE.finditer(text.replace("\r\n", "\n")):
        lines = []
        name = ""
        for prop, types, value in _card_lines(match.group("body")):
            if prop == "N" and not name:
                name = " ".join(p for p in reversed(value.split(";")[:2]) if p)
            if prop not in LABELS or not value:
                continue
            if prop == "FN":
                name = _unescape(value)
                continue
            if prop == "ADR":
                value = ", ".join(p for p in value.split(";") if p)
            label = LABELS[prop] + (f" ({types})" if types else "")
            lines.append(f"{label}: {_unescape(value)}")
        body = "\n".join(lines)
        sections.append(
            Section(text=body, start=offset, header=f"Contact: {name or '(no name)'}", title=name)
        )
        offset += len(body) + 2
    if not sections:
        raise SkipFile("no contacts (no BEGIN:VCARD ... END:VCARD)")
    return Document(str(path), "contact", path.stem, tuple(sections))
