"""Read a visit transcript in any of the three accepted formats into typed turns.

Formats: ACI-BENCH `[doctor]`/`[patient]` tags, `Doctor:`/`Patient:` prefixes, or plain text (no
speakers). Unreadable input (missing, empty, binary, huge) fails here with a clear InputError.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from assistant.errors import InputError

Format = Literal["tags", "prefixes", "plain"]
MAX_BYTES = 4 * 1024 * 1024  # a day of dictation is well under this; anything bigger is not a transcript

_TAG = re.compile(r"^\s*\[([A-Za-z][A-Za-z _-]{0,30})\]\s*(.*)$")
_ROLES = (
    r"doctor|dr\.?|physician|provider|clinician|nurse|np|pa|md|patient|pt|guest|caregiver|family|"
    r"mother|father|wife|husband|daughter|son|partner|interpreter|speaker\s*\d+"
)
_PREFIX = re.compile(rf"^\s*({_ROLES})(?:[ _-]?guest)?\s*:\s*(.*)$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")
_SPEAKER_ALIASES = {"dr": "doctor", "dr.": "doctor", "physician": "doctor", "md": "doctor", "pt": "patient"}


@dataclass(frozen=True)
class Turn:
    """One speaker's contribution; `speaker` is lower-case ("doctor", "patient", ...) or "" if unknown."""

    speaker: str
    text: str

    def render(self) -> str:
        return f"{self.speaker.replace('_', ' ').capitalize()}: {self.text}" if self.speaker else self.text


@dataclass(frozen=True)
class Transcript:
    turns: tuple[Turn, ...]
    format: Format

    @property
    def text(self) -> str:
        """The whole conversation as the model and the grounding check see it."""
        return "\n".join(t.render() for t in self.turns)


def _speaker(label: str) -> str:
    key = re.sub(r"\s+", " ", label.strip().lower())
    return _SPEAKER_ALIASES.get(key, key.replace(" ", "_"))


def detect_format(lines: list[str]) -> Format:
    """The format most non-blank lines follow; a few odd lines do not change it."""
    content = [ln for ln in lines if ln.strip()]
    if not content:
        return "plain"
    tags = sum(1 for ln in content if _TAG.match(ln))
    prefixes = sum(1 for ln in content if _PREFIX.match(ln))
    if tags >= max(1, len(content) // 2) and tags >= prefixes:
        return "tags"
    if prefixes >= max(1, len(content) // 2):
        return "prefixes"
    return "plain"


def parse_transcript(text: str) -> Transcript:
    """Split `text` into turns; lines without a speaker label continue the previous turn.

    Raises:
        InputError: nothing but whitespace.
    """
    if not text.strip():
        raise InputError(
            "The transcript is empty.",
            "Pass a text file with the visit conversation, or pipe it in with `assistant note -`.",
        )
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    fmt = detect_format(lines)
    if fmt == "plain":
        paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
        turns = [Turn("", s.strip()) for p in paragraphs for s in _sentences(" ".join(p.split()))]
        return Transcript(tuple(turns), "plain")
    pattern = _TAG if fmt == "tags" else _PREFIX
    speakers: list[str] = []
    texts: list[str] = []
    for line in lines:
        match = pattern.match(line)
        if match:
            speakers.append(_speaker(match.group(1)))
            texts.append(match.group(2).strip())
        elif line.strip():
            if not texts:  # text before the first label: an unattributed opening turn
                speakers.append("")
                texts.append("")
            texts[-1] = f"{texts[-1]} {line.strip()}".strip()
    turns = tuple(Turn(s, " ".join(t.split())) for s, t in zip(speakers, texts, strict=True) if t.strip())
    return Transcript(turns, fmt)


def _sentences(paragraph: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(paragraph) if s.strip()]


def decode_transcript(data: bytes, source: str) -> str:
    """Bytes to text, refusing binary files and oversized input.

    Raises:
        InputError: too large, binary, or not UTF-8 text.
    """
    if len(data) > MAX_BYTES:
        raise InputError(
            f"{source} is {len(data) // 1024} KiB; a transcript is expected to be under "
            f"{MAX_BYTES // (1024 * 1024)} MiB.",
            "Split the file into one visit per file.",
        )
    if b"\x00" in data:
        raise InputError(
            f"{source} looks like a binary file, not a transcript.",
            "Pass a plain-text transcript (export audio transcriptions as .txt).",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{source} is not UTF-8 text (byte {exc.start} is invalid).",
            "Convert it to UTF-8 first, e.g. `iconv -f latin1 -t utf-8 FILE > FILE.txt`.",
        ) from exc


def read_transcript(path: str, stdin: BinaryIO | None = None) -> Transcript:
    """Read and parse a transcript from a file path, or from stdin when `path` is "-".

    Raises:
        InputError: missing, unreadable, empty, binary or oversized input.
    """
    if path == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        data = stream.read(MAX_BYTES + 1)
        source = "standard input"
    else:
        file = Path(path).expanduser()
        if not file.is_file():
            raise InputError(
                f"Transcript not found: {file}" if not file.exists() else f"{file} is not a file.",
                "Check the path, or use `-` to read the transcript from standard input.",
            )
        try:
            with file.open("rb") as fh:
                data = fh.read(MAX_BYTES + 1)
        except OSError as exc:
            raise InputError(f"Cannot read {file}: {exc.strerror}.", "Check the file's permissions.") from exc
        source = file.name
    return parse_transcript(decode_transcript(data, source))
