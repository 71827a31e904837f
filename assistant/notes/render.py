"""Render a ClinicalNote as Markdown (ACI-BENCH headings or SOAP) or JSON, and check rendered structure."""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from assistant.notes.note import ClinicalNote
from assistant.notes.sections import EMPTY_MARKER, PROSE_FIELDS, NoteFormat, json_key, layout
from assistant.notes.transcript import Transcript

FLAG_MARK = "⚠"
FOOTER_RULE = "---"
_HEADING = re.compile(r"^## (.+)$")


def _statement(note: ClinicalNote, key: str, text: str, annotate: bool) -> str:
    flag = note.flagged(key, text) if annotate else None
    return f"{text} {FLAG_MARK} not in transcript: {', '.join(flag.unsupported)}" if flag else text


class _Footnotes:
    """Numbers statements' evidence as Markdown footnotes, in reading order."""

    def __init__(self, note: ClinicalNote, transcript: Transcript | None) -> None:
        self.note, self.transcript, self.lines = note, transcript, []

    def mark(self, key: str, index: int, text: str) -> str:
        turns = self.note.turns_for(key, index)
        n = len(self.lines) + 1
        if not turns:
            self.lines.append(f"[^{n}]: no transcript turn found for this statement.")
            return f"{text}[^{n}]"
        quoted = ""
        if self.transcript is not None:
            quoted = " " + " ".join(
                f"«{_clip(self.transcript.turns[t - 1].render())}»"
                for t in turns
                if t <= len(self.transcript.turns)
            )
        self.lines.append(
            f"[^{n}]: turn{'s' if len(turns) > 1 else ''} {', '.join(map(str, turns))}.{quoted}"
        )
        return f"{text}[^{n}]"


def _clip(text: str, most: int = 120) -> str:
    return text if len(text) <= most else text[: most - 1].rsplit(" ", 1)[0] + "…"


def _section_body(
    note: ClinicalNote,
    keys: tuple[str, ...],
    fmt: NoteFormat,
    annotate: bool,
    notes: _Footnotes | None = None,
) -> str:
    blocks: list[str] = []
    for key in keys:
        statements = [_statement(note, key, s, annotate) for s in note.fields.get(key, ())]
        if notes is not None:
            statements = [notes.mark(key, i, s) for i, s in enumerate(statements)]
        if not statements:
            continue
        if key == "chief_complaint" and fmt == "soap":
            blocks.append(f"Chief complaint: {statements[0]}")
        elif key in PROSE_FIELDS:
            blocks.append(" ".join(s if s.endswith((".", "!", "?")) else f"{s}." for s in statements))
        else:
            blocks.append("\n".join(f"- {s}" for s in statements))
    return "\n\n".join(blocks) if blocks else EMPTY_MARKER


def to_markdown(
    note: ClinicalNote,
    fmt: NoteFormat = "aci",
    *,
    annotate: bool = True,
    evidence: bool = False,
    transcript: Transcript | None = None,
) -> str:
    """Every heading of the format, in order; empty sections say so; flagged statements are marked.

    `evidence`: each statement gets a footnote with the transcript turns it rests on (quoted when
    `transcript` is given).
    """
    notes = _Footnotes(note, transcript) if evidence else None
    parts = [
        f"## {heading}\n\n{_section_body(note, keys, fmt, annotate, notes)}" for heading, keys in layout(fmt)
    ]
    text = "\n\n".join(parts) + "\n"
    if notes is not None and notes.lines:
        text += (
            f"\n{FOOTER_RULE}\n\nEvidence (transcript turns, counted from 1):\n\n"
            + "\n".join(notes.lines)
            + "\n"
        )
    if annotate and note.flags:
        text += (
            ("\n" if notes is not None and notes.lines else f"\n{FOOTER_RULE}\n")
            + f"\n> {FLAG_MARK} Grounding check: {len(note.flags)} of {note.statements()} "
            "statements contain numbers, doses, medications or findings not found in the transcript. "
            "Verify them against the conversation before using this note.\n"
        )
    return text


def to_plain_text(note: ClinicalNote, fmt: NoteFormat = "aci") -> str:
    """The note without Markdown marks or flags, shaped like ACI-BENCH references (for ROUGE)."""
    text = to_markdown(note, fmt, annotate=False)
    return re.sub(r"^(## |- )", "", text, flags=re.MULTILINE)


def to_json(note: ClinicalNote, fmt: NoteFormat = "aci") -> dict[str, Any]:
    """`note --json`: one list of statements per section, the flags, and run statistics."""
    stats = asdict(note.stats)
    stats.pop("per_chunk_tokens", None)
    return {
        "format": fmt,
        "sections": {
            json_key(heading): [s for key in keys for s in note.fields.get(key, ())]
            for heading, keys in layout(fmt)
        },
        "evidence": {
            json_key(heading): [
                list(note.turns_for(key, i)) for key in keys for i in range(len(note.fields.get(key, ())))
            ]
            for heading, keys in layout(fmt)
        },
        "flags": [
            {"field": f.field, "statement": f.statement, "unsupported": list(f.unsupported)}
            for f in note.flags
        ],
        "facts": [
            {
                "kind": f.kind,
                "name": f.name,
                "negated": f.negated,
                "details": f.details,
                "turns": list(f.turns),
            }
            for f in note.facts
        ],
        "written_from_facts": list(note.from_facts),
        "model": note.model,
        "demo_quality": note.demo_quality,
        "stats": stats,
        "seconds": round(note.seconds, 3),
    }


def structure_problems(markdown: str, fmt: NoteFormat = "aci") -> list[str]:
    """Why `markdown` is not a well-formed note of `fmt` (empty list: valid)."""
    body = markdown.split(f"\n{FOOTER_RULE}\n", 1)[0]
    problems: list[str] = []
    headings: list[str] = []
    sections: list[list[str]] = []
    for line in body.splitlines():
        match = _HEADING.match(line)
        if match:
            headings.append(match.group(1).strip())
            sections.append([])
        elif sections:
            sections[-1].append(line)
        elif line.strip():
            problems.append(f"text before the first heading: {line[:40]!r}")
    expected = [heading for heading, _ in layout(fmt)]
    if headings != expected:
        problems.append(f"headings {headings} != {expected}")
    for heading, lines in zip(headings, sections, strict=True):
        if not "".join(lines).strip():
            problems.append(f"section {heading} is blank")
    return problems


def json_problems(obj: Any, fmt: NoteFormat = "aci") -> list[str]:
    """Why `obj` is not a well-formed `note --json` object (empty list: valid)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("sections"), dict):
        return ["not an object with a sections object"]
    expected = [json_key(heading) for heading, _ in layout(fmt)]
    problems = [] if list(obj["sections"]) == expected else [f"section keys {list(obj['sections'])}"]
    for key, value in obj["sections"].items():
        if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
            problems.append(f"section {key} is not a list of statements")
    return problems
