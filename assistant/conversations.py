"""Chat history at rest: one AES-GCM sealed file per conversation in the data dir; headless (no UI).

Each file is sealed with the user's keyring and bound to its id through the AAD, so a file renamed or
swapped for another one fails to open instead of showing the wrong conversation. Nothing is written in
clear: titles, questions and answers all live inside the sealed blob.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from assistant.datadir import replace_private, write_private
from assistant.errors import InputError, StoreError
from assistant.pipeline.types import Answer, Outbound, Plan, Source

SCHEMA_VERSION = 1
SUFFIX = ".conv"
_ID_RE = re.compile(r"^[0-9a-f]{16}$")


class Sealer(Protocol):
    """What conversations need from `encrypted_store.keys.Keyring`."""

    def seal(self, data: bytes, aad: bytes) -> bytes: ...

    def open(self, blob: bytes, aad: bytes) -> bytes: ...


@dataclass
class Turn:
    """One question and everything the user may want to check about its answer."""

    question: str
    answer: str = ""
    sources: list[Source] = field(default_factory=list)
    plan: Plan = field(default_factory=lambda: Plan(remote=False, guidance=""))
    outbound: list[Outbound] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)  # the remote's reply to each outbound request
    replacements: list[tuple[str, str]] = field(default_factory=list)  # (placeholder, kind)
    sanitized: str | None = None  # the question as it may leave the device
    notices: list[str] = field(default_factory=list)
    finish_reason: str = "stop"
    created: float = field(default_factory=time.time)

    @property
    def left_device(self) -> bool:
        return bool(self.outbound)

    def apply_answer(self, answer: Answer) -> None:
        self.answer = answer.text
        self.sources = list(answer.sources)
        self.plan = answer.plan
        self.outbound = list(answer.outbound)
        self.finish_reason = answer.finish_reason

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["plan"]["sub_queries"] = list(self.plan.sub_queries)
        data["replacements"] = [list(r) for r in self.replacements]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Turn:
        plan = data.get("plan") or {}
        return cls(
            question=str(data["question"]),
            answer=str(data.get("answer", "")),
            sources=[Source(**s) for s in data.get("sources", [])],
            plan=Plan(
                remote=bool(plan.get("remote", False)),
                guidance=str(plan.get("guidance", "")),
                sub_queries=tuple(plan.get("sub_queries", ())),
                notice=plan.get("notice"),
            ),
            outbound=[Outbound(**o) for o in data.get("outbound", [])],
            replies=[str(r) for r in data.get("replies", [])],
            replacements=[(str(p), str(k)) for p, k in data.get("replacements", [])],
            sanitized=data.get("sanitized"),
            notices=[str(n) for n in data.get("notices", [])],
            finish_reason=str(data.get("finish_reason", "stop")),
            created=float(data.get("created", 0.0)),
        )


@dataclass
class Conversation:
    id: str = field(default_factory=lambda: secrets.token_hex(8))
    title: str = ""
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    turns: list[Turn] = field(default_factory=list)

    def add(self, turn: Turn) -> None:
        if not self.title:
            self.title = _title_from(turn.question)
        self.turns.append(turn)
        self.updated = time.time()

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": SCHEMA_VERSION,
            "id": self.id,
            "title": self.title,
            "created": self.created,
            "updated": self.updated,
            "turns": [t.to_dict() for t in self.turns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conversation:
        version = data.get("v")
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"Conversation format version {version!r} is not supported.",
                "Update the assistant to a version that wrote it.",
            )
        return cls(
            id=str(data["id"]),
            title=str(data.get("title", "")),
            created=float(data.get("created", 0.0)),
            updated=float(data.get("updated", 0.0)),
            turns=[Turn.from_dict(t) for t in data.get("turns", [])],
        )


def _title_from(question: str, width: int = 60) -> str:
    line = " ".join(question.split())
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"


class ConversationStore:
    """List, load, save, delete and export conversations sealed under one keyring."""

    def __init__(self, directory: Path, keyring: Sealer) -> None:
        self.directory = directory
        self._keyring = keyring
        self.warnings: list[str] = []  # files skipped by the last list_all()

    def _path(self, conv_id: str) -> Path:
        if not _ID_RE.match(conv_id):
            raise InputError(f"Not a conversation id: {conv_id!r}.", "Pick one from the conversations list.")
        return self.directory / f"{conv_id}{SUFFIX}"

    @staticmethod
    def _aad(conv_id: str) -> bytes:
        return f"conversation:{conv_id}:v{SCHEMA_VERSION}".encode()

    def save(self, conv: Conversation) -> None:
        """Seal and write atomically: a crash leaves the old file or the new one, never half."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self._path(conv.id)
        blob = self._keyring.seal(json.dumps(conv.to_dict()).encode(), self._aad(conv.id))
        replace_private(path, blob)

    def load(self, conv_id: str) -> Conversation:
        """Open one conversation.

        Raises:
            InputError: no such conversation.
            StoreError: the file does not decrypt (tampered, swapped, or another key).
        """
        path = self._path(conv_id)
        if not path.is_file():
            raise InputError(f"No conversation {conv_id}.", "Pick one from the conversations list (Ctrl+O).")
        try:
            raw = self._keyring.open(path.read_bytes(), self._aad(conv_id))
            return Conversation.from_dict(json.loads(raw))
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - any decryption or parse failure means the same thing
            raise StoreError(
                f"Conversation {conv_id} could not be opened (tampered or sealed with another key).",
                f"Delete it: remove {path}.",
            ) from exc

    def list_all(self) -> list[Conversation]:
        """Every conversation that opens, newest first; the rest are named in `warnings`."""
        self.warnings = []
        out: list[Conversation] = []
        for path in self._files():
            try:
                out.append(self.load(path.stem))
            except (StoreError, InputError) as exc:
                self.warnings.append(exc.title)
        out.sort(key=lambda c: c.updated, reverse=True)
        return out

    def _files(self) -> Iterator[Path]:
        if self.directory.is_dir():
            yield from sorted(self.directory.glob(f"*{SUFFIX}"))

    def delete(self, conv_id: str) -> bool:
        path = self._path(conv_id)
        if path.is_file():
            path.unlink()
            return True
        return False

    def export_markdown(self, conv_id: str, dest: Path) -> Path:
        """Write one conversation as Markdown, in clear, where the user asked (their choice), mode 0600."""
        conv = self.load(conv_id)
        dest = dest.expanduser()
        if dest.is_dir():
            dest = dest / f"conversation-{conv.id}.md"
        try:
            write_private(dest, to_markdown(conv).encode("utf-8"))  # clear text: owner-only
        except OSError as exc:
            raise InputError(
                f"Cannot write {dest}: {exc.strerror}.", "Choose a folder you can write to."
            ) from exc
        return dest


def to_markdown(conv: Conversation) -> str:
    """A readable transcript: questions, answers, sources and what left the device."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(conv.created))
    lines = [f"# {conv.title or 'Conversation'}", "", f"_Started {when}_", ""]
    for n, turn in enumerate(conv.turns, 1):
        lines += [f"## {n}. {turn.question}", "", turn.answer or "_(no answer)_", ""]
        if turn.finish_reason == "cancelled":
            lines += ["_(stopped before the end)_", ""]
        if turn.sources:
            lines.append("Sources:")
            lines += [f"- [{i}] `{s.path}` (score {s.score:.2f})" for i, s in enumerate(turn.sources, 1)]
            lines.append("")
        if turn.outbound:
            lines.append(f"Sent off this device: {len(turn.outbound)} request(s) (sanitized).")
        else:
            lines.append("Nothing left this device.")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
