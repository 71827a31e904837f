"""Events a question produces, in order: the CLI and the TUI consume the same stream.

Stage("planning") -> PlanReady -> Stage("searching") -> SourcesReady -> Stage("reading", n) ->
TokenDelta... -> Done. Stage events say what runs until the first token arrives. `Notice` may come at
any point (e.g. the remote planner failed and the local one was used). The outbound guard's refusal
arrives as a Notice too.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.pipeline.types import Answer, Plan, Source
from models.base import TokenDelta


@dataclass(frozen=True)
class Sanitized:
    """What the sanitizer replaced: `text` is what may leave; `replacements` maps placeholder -> kind."""

    text: str
    replacements: tuple[tuple[str, str], ...] = ()  # (placeholder, entity kind); values stay local


@dataclass(frozen=True)
class PlanReady:
    plan: Plan


@dataclass(frozen=True)
class SourcesReady:
    sources: tuple[Source, ...]


@dataclass(frozen=True)
class Stage:
    """A slow step has started: "sanitizing", "planning", "searching" or "reading" (`records` of them)."""

    name: str
    records: int = 0

    def label(self) -> str:
        if self.name == "reading":
            return f"reading {self.records} record{'s' if self.records != 1 else ''}…"
        return f"{self.name}…"


@dataclass(frozen=True)
class Notice:
    text: str
    level: str = "info"  # "info" | "warning"


@dataclass(frozen=True)
class Done:
    answer: Answer


Event = Sanitized | Stage | PlanReady | SourcesReady | Notice | TokenDelta | Done
