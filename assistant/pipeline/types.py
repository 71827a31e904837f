"""Typed values that cross from the pipeline to the CLI and the TUI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Source:
    id: str
    path: str
    snippet: str
    score: float
    page: int | None = None  # the PDF or scan page of the passage
    where: str = ""  # the page, or the message (subject, sender, date) or event it is in
    ocr: bool = False  # recognised from a scan: may hold recognition errors
    evidence: tuple[str, ...] = ()  # sentences of this record that support the answer (on-device)

    def __post_init__(self) -> None:  # a saved conversation gives a list back
        object.__setattr__(self, "evidence", tuple(self.evidence))


@dataclass(frozen=True)
class Plan:
    remote: bool
    guidance: str
    sub_queries: tuple[str, ...] = ()
    notice: str | None = None  # e.g. why the remote plan was not used


@dataclass(frozen=True)
class Outbound:
    """One request that left the device: the exact body, as sent."""

    url: str
    body: str


@dataclass
class Answer:
    text: str
    sources: list[Source] = field(default_factory=list)
    plan: Plan = field(default_factory=lambda: Plan(remote=False, guidance=""))
    outbound: list[Outbound] = field(default_factory=list)
    finish_reason: str = "stop"

    def to_json(self) -> dict[str, Any]:
        """The `ask --json` shape (DESIGN.md)."""
        return {
            "answer": self.text,
            "sources": [{**asdict(s), "evidence": list(s.evidence)} for s in self.sources],
            "plan": {
                "remote": self.plan.remote,
                "guidance": self.plan.guidance,
                "sub_queries": list(self.plan.sub_queries),
            },
            "outbound": [asdict(o) for o in self.outbound],
        }
