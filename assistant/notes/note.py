"""Transcript to clinical note: chunk, extract per field with guided output, merge, check grounding."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.notes.extract import (
    ExtractOptions,
    ExtractStats,
    chunk_budget,
    chunk_turns,
    extract_chunk,
)
from assistant.notes.grounding import Flag, check_note
from assistant.notes.merge import merge_extractions
from assistant.notes.sections import FIELD_KEYS
from assistant.notes.transcript import Transcript
from models.base import ChatModel


@dataclass(frozen=True)
class ClinicalNote:
    """Statements per extraction field (see `sections.FIELDS`) plus the grounding flags."""

    fields: dict[str, tuple[str, ...]]
    flags: tuple[Flag, ...] = ()
    model: str = ""
    demo_quality: bool = False
    stats: ExtractStats = field(default_factory=ExtractStats)
    seconds: float = 0.0

    def statements(self) -> int:
        return sum(len(v) for v in self.fields.values())

    def flagged(self, field_key: str, statement: str) -> Flag | None:
        return next((f for f in self.flags if f.field == field_key and f.statement == statement), None)


Progress = Callable[[int, int], None]  # (chunk index from 1, number of chunks)


def generate_note(
    transcript: Transcript,
    model: ChatModel,
    options: ExtractOptions | None = None,
    *,
    progress: Progress | None = None,
) -> ClinicalNote:
    """Write a structured note for `transcript` with `model` alone; no other I/O.

    Raises:
        InputError: the model's window is too small for even one chunk.
        ModelError: the model failed while generating.
    """
    options = options or ExtractOptions()
    started = time.perf_counter()
    stats = ExtractStats()
    budget = chunk_budget(model, options)
    chunks = chunk_turns(transcript.turns, budget, model.count_tokens)
    stats.chunks = len(chunks)
    stats.per_chunk_tokens = [model.count_tokens(c) for c in chunks]
    parts = []
    for index, chunk in enumerate(chunks, 1):
        if progress is not None:
            progress(index, len(chunks))
        part = f" (part {index} of {len(chunks)})" if len(chunks) > 1 else ""
        parts.append(extract_chunk(model, chunk, part, options, stats))
    fields = merge_extractions(parts)
    assert tuple(fields) == FIELD_KEYS  # internal invariant, not input validation
    flags = tuple(check_note(fields, transcript.text))
    return ClinicalNote(
        fields=fields,
        flags=flags,
        model=model.name,
        demo_quality=model.demo_quality,
        stats=stats,
        seconds=time.perf_counter() - started,
    )
