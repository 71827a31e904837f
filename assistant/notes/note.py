"""Transcript to clinical note: facts first (deterministic), then sections, then the grounding check.

With a demo-quality model the note is written from the facts and the transcript's own sentences
alone. With a capable model each field is asked of the model (chunked, guided output); a field whose
model text drops a fact the extractor found, or states something the transcript lacks, is written
from the facts instead, so the note never loses an extracted fact.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.notes.evidence import support_turns
from assistant.notes.extract import (
    ExtractOptions,
    ExtractStats,
    chunk_budget,
    chunk_turns,
    extract_chunk,
)
from assistant.notes.facts import Fact, extract_facts
from assistant.notes.grounding import Flag, check_note, normalize
from assistant.notes.merge import merge_extractions
from assistant.notes.person import infer_person
from assistant.notes.sections import FIELD_KEYS
from assistant.notes.text import sentences
from assistant.notes.transcript import Transcript
from assistant.notes.writer import Statement, fact_field, fact_markers, write_sections
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
    evidence: dict[str, tuple[tuple[int, ...], ...]] = field(default_factory=dict)  # parallel to fields
    facts: tuple[Fact, ...] = ()
    from_facts: tuple[str, ...] = ()  # fields written from the facts rather than by the model

    def turns_for(self, field_key: str, index: int) -> tuple[int, ...]:
        """Transcript turns (from 1) that statement `index` of `field_key` rests on; () if none."""
        turns = self.evidence.get(field_key, ())
        return turns[index] if index < len(turns) else ()

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
    model_writes: bool | None = None,
) -> ClinicalNote:
    """Write a structured note for `transcript` with `model` alone; no other I/O.

    `model_writes`: ask the model for each field (None: unless the model is demo quality, whose
    fields are written from the facts directly).

    Raises:
        InputError: the model's window is too small for even one chunk.
        ModelError: the model failed while generating.
    """
    options = options or ExtractOptions()
    started = time.perf_counter()
    stats = ExtractStats()
    facts = extract_facts(transcript)
    written = write_sections(sentences(transcript), facts, infer_person(transcript))
    if not (model_writes if model_writes is not None else not model.demo_quality):
        chosen, from_facts = written, FIELD_KEYS
    else:
        fields = _model_fields(transcript, model, options, stats, progress)
        chosen, from_facts = _check_model_fields(fields, written, facts, transcript)
    texts = {key: tuple(t for t, _ in chosen[key]) for key in FIELD_KEYS}
    return ClinicalNote(
        fields=texts,
        flags=tuple(check_note(texts, transcript.text)),
        model=model.name,
        demo_quality=model.demo_quality,
        stats=stats,
        seconds=time.perf_counter() - started,
        evidence={key: tuple(turns for _, turns in chosen[key]) for key in FIELD_KEYS},
        facts=tuple(facts),
        from_facts=tuple(from_facts),
    )


def _model_fields(
    transcript: Transcript,
    model: ChatModel,
    options: ExtractOptions,
    stats: ExtractStats,
    progress: Progress | None,
) -> dict[str, tuple[str, ...]]:
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
    return fields


def _check_model_fields(
    fields: dict[str, tuple[str, ...]],
    written: dict[str, list[Statement]],
    facts: list[Fact],
    transcript: Transcript,
) -> tuple[dict[str, list[Statement]], list[str]]:
    """Keep a model-written field only if it states every fact of that field and nothing unsupported."""
    chosen: dict[str, list[Statement]] = {}
    from_facts: list[str] = []
    for key in FIELD_KEYS:
        said = set(normalize(" ".join(fields[key])))
        markers = [m for f in facts if fact_field(f) == key for m in fact_markers(f)]
        dropped = any(tok not in said for m in markers for tok in normalize(m))
        unsupported = check_note({key: fields[key]}, transcript.text)
        if dropped or unsupported or (not fields[key] and written[key]):
            chosen[key] = written[key]
            from_facts.append(key)
        else:
            chosen[key] = [(s, support_turns(s, transcript)) for s in fields[key]]
    return chosen, from_facts
