"""Note generation with the real bundled model (SmolLM2-135M on llama.cpp): structure always holds.

The tiny model's statements are weak; these tests check what must hold for any model: every section
present in order, guided output parsed, nothing trimmed, long transcripts chunked rather than cut.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.notes.extract import ExtractOptions, chunk_budget
from assistant.notes.note import generate_note
from assistant.notes.render import json_problems, structure_problems, to_json, to_markdown
from assistant.notes.sections import FIELD_KEYS
from assistant.notes.transcript import parse_transcript

CASES = Path(__file__).parent / "fixtures" / "aci" / "cases.json"
SMALL = ExtractOptions(max_items=1, max_chars=32)


@pytest.fixture(scope="module")
def note_model(bundled_gguf: Path) -> Iterator[object]:
    """The bundled model on one thread: on a shared, busy CPU two llama.cpp threads stall each other."""
    from models.llamacpp import LlamaCppModel

    model = LlamaCppModel(bundled_gguf, n_ctx=2048, threads=1, name="smollm2-135m-instruct")
    yield model
    model.close()


TRANSCRIPTS = {
    "tags": (
        "[doctor] hi , what brings you in today ?\n"
        "[patient] my right knee hurts . it started two weeks ago after i fell .\n"
        "[doctor] any swelling ?\n[patient] a little .\n"
        "[doctor] i see mild swelling of the right knee . take ibuprofen 400 milligrams twice a day .\n"
    ),
    "prefixes": (
        "Doctor: What brings you in today?\n"
        "Patient: I have had a cough for a week and a low fever.\n"
        "Doctor: Your lungs sound clear. Drink fluids and rest; come back if it gets worse.\n"
    ),
    "plain": (
        "The patient is a 30 year old man with a sore throat for three days. He has no fever. "
        "The throat is red on exam. The plan is salt water gargles and rest."
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["tags", "prefixes", "plain"])
def test_every_format_gives_a_complete_note(note_model: object, fmt: str) -> None:
    transcript = parse_transcript(TRANSCRIPTS[fmt])
    assert transcript.format == fmt
    note = generate_note(transcript, note_model, SMALL, model_writes=True)  # type: ignore[arg-type]
    assert tuple(note.fields) == FIELD_KEYS
    assert note.stats.chunks == 1
    assert note.stats.calls == len(FIELD_KEYS)
    assert note.stats.trimmed == 0
    assert structure_problems(to_markdown(note)) == []
    assert structure_problems(to_markdown(note, "soap"), "soap") == []
    assert json_problems(json.loads(json.dumps(to_json(note)))) == []
    model_written = [s for k, v in note.fields.items() if k not in note.from_facts for s in v]
    assert all(len(s) <= 32 for s in model_written)
    assert all(
        note.turns_for(k, i) or k not in note.from_facts
        for k in FIELD_KEYS
        for i in range(len(note.fields[k]))
    )
    assert note.model == "smollm2-135m-instruct"


@pytest.mark.slow
def test_transcript_longer_than_the_window_is_chunked_not_truncated(bundled_gguf: Path) -> None:
    from models.llamacpp import LlamaCppModel

    model = LlamaCppModel(bundled_gguf, n_ctx=512, threads=1, name="smollm2-135m-instruct")
    try:
        case = json.loads(CASES.read_text(encoding="utf-8"))["data"][0]
        turns = parse_transcript(case["src"]).turns[:30]
        transcript = parse_transcript("\n".join(f"[{t.speaker}] {t.text}" for t in turns))
        total = model.count_tokens(transcript.text)
        window = model.context_window
        assert total > window  # the premise: it cannot fit in one prompt
        budget = chunk_budget(model, SMALL)
        chunks_seen: list[int] = []
        note = generate_note(
            transcript, model, SMALL, progress=lambda i, n: chunks_seen.append(n), model_writes=True
        )
    finally:
        model.close()
    assert note.stats.chunks >= 2 and chunks_seen and chunks_seen[0] == note.stats.chunks
    assert note.stats.trimmed == 0  # every prompt fitted whole
    assert note.stats.calls == note.stats.chunks * len(FIELD_KEYS)
    assert sum(note.stats.per_chunk_tokens) >= total * 0.95  # all of it was read (plus overlap)
    assert max(note.stats.per_chunk_tokens) <= budget < window
    assert structure_problems(to_markdown(note)) == []
