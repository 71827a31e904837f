"""Note structure without a model: rendering, validation, chunking, reply parsing, merging."""

from __future__ import annotations

import pytest

from assistant.errors import InputError
from assistant.notes.extract import ExtractOptions, chunk_turns, clean_items, parse_items
from assistant.notes.merge import merge_extractions
from assistant.notes.note import ClinicalNote
from assistant.notes.render import json_problems, structure_problems, to_json, to_markdown, to_plain_text
from assistant.notes.sections import EMPTY_MARKER, FIELD_KEYS, FIELDS
from assistant.notes.transcript import Turn

ACI = [
    "CHIEF COMPLAINT",
    "HISTORY OF PRESENT ILLNESS",
    "REVIEW OF SYSTEMS",
    "PHYSICAL EXAM",
    "RESULTS",
    "ASSESSMENT AND PLAN",
]


def sample_note() -> ClinicalNote:
    fields = {key: () for key in FIELD_KEYS}
    fields["chief_complaint"] = ("Right wrist pain",)
    fields["history_of_present_illness"] = ("Hit her arm playing tennis", "Mild swelling.")
    fields["physical_exam"] = ("Tenderness over the distal radius",)
    fields["plan"] = ("Ice and Motrin 800 mg three times a day",)
    return ClinicalNote(fields=fields)


def test_markdown_has_every_aci_heading_in_order_and_marks_empty_sections() -> None:
    text = to_markdown(sample_note())
    assert [ln[3:] for ln in text.splitlines() if ln.startswith("## ")] == ACI
    assert "## REVIEW OF SYSTEMS\n\nNone documented.\n" in text
    assert "## RESULTS\n\nNone documented.\n" in text
    assert "Hit her arm playing tennis. Mild swelling." in text
    assert "## ASSESSMENT AND PLAN\n\n- Ice and Motrin 800 mg three times a day\n" in text
    assert structure_problems(text) == []


def test_soap_layout_and_json_fields() -> None:
    note = sample_note()
    text = to_markdown(note, "soap")
    assert [ln[3:] for ln in text.splitlines() if ln.startswith("## ")] == [
        "SUBJECTIVE",
        "OBJECTIVE",
        "ASSESSMENT",
        "PLAN",
    ]
    assert "Chief complaint: Right wrist pain" in text
    assert structure_problems(text, "soap") == []
    obj = to_json(note, "soap")
    assert list(obj["sections"]) == ["subjective", "objective", "assessment", "plan"]
    assert obj["sections"]["assessment"] == []
    assert json_problems(obj, "soap") == []
    aci = to_json(note)
    assert aci["sections"]["assessment_and_plan"] == ["Ice and Motrin 800 mg three times a day"]
    assert json_problems(aci) == []


def test_validator_rejects_broken_notes() -> None:
    good = to_markdown(sample_note())
    assert structure_problems(good.replace("## RESULTS", "## LABS"))
    assert structure_problems(good.replace(f"## RESULTS\n\n{EMPTY_MARKER}", "## RESULTS\n\n"))
    assert structure_problems("Some preamble\n" + good)
    assert structure_problems(good, "soap")
    assert json_problems({"sections": {"chief_complaint": [""]}})


def test_plain_text_is_shaped_like_the_references() -> None:
    text = to_plain_text(sample_note())
    assert text.startswith("CHIEF COMPLAINT\n\nRight wrist pain.\n")
    assert "## " not in text and "\n- " not in text


def test_chunks_cover_every_turn_within_budget() -> None:
    def count(text: str) -> int:
        return len(text.split())

    turns = [Turn("doctor" if i % 2 else "patient", f"turn {i} " + "word " * (i % 7)) for i in range(60)]
    turns.append(Turn("patient", "long " * 95))  # bigger than one chunk by itself
    chunks = chunk_turns(turns, 40, count)
    assert len(chunks) > 5
    assert all(count(c) <= 40 for c in chunks)
    joined = "\n".join(chunks)
    for turn in turns[:-1]:
        assert turn.render() in joined
    assert joined.count("long") == 95
    # one turn of overlap between consecutive chunks keeps question and answer together
    assert chunks[1].splitlines()[0] == chunks[0].splitlines()[-1]


def test_a_huge_unbroken_turn_is_split_in_linear_time() -> None:
    calls = []

    def count(text: str) -> int:
        calls.append(len(text))
        return sum(1 + len(w) // 16 for w in text.split())  # additive, like a word-piece tokenizer

    turn = Turn("", "x" * 5000 + " word" * 20000)
    chunks = chunk_turns([turn], 200, count)
    assert all(count(c) <= 200 for c in chunks)
    assert sum(len(c.replace("\n", " ").split()) for c in chunks) >= 20000
    assert len(calls) < 30000  # one count per word, not one per growing prefix


def test_parse_items_salvages_a_cut_off_reply() -> None:
    assert parse_items('{"items": ["Knee pain", "Swelling"]}') == (["Knee pain", "Swelling"], False)
    assert parse_items('{"items": ["Knee pain", "Swel') == (["Knee pain"], True)
    assert parse_items("not json") == ([], True)
    assert parse_items('{"items": ["a \\"quoted\\" word"]}')[0] == ['a "quoted" word']


def test_clean_items_drops_noise_and_question_echoes() -> None:
    question = FIELDS[0].question
    items = ["  knee   pain ", "Knee pain", "--", "12", question, "What is the main reason for this visit?"]
    assert clean_items(items, question) == ["Knee pain"]


def test_merge_keeps_order_drops_near_duplicates_and_caps() -> None:
    parts = [
        {"history_of_present_illness": ["Knee pain for two weeks", "No fever"]},
        {"history_of_present_illness": ["Knee pain for two weeks after a fall", "Takes ibuprofen"]},
        {"chief_complaint": ["Knee pain"]},
        {"chief_complaint": ["Cough"], "plan": [f"Plan item {i} of many" for i in range(20)]},
    ]
    merged = merge_extractions(parts)
    assert tuple(merged) == FIELD_KEYS
    assert merged["history_of_present_illness"] == (
        "Knee pain for two weeks after a fall",
        "No fever",
        "Takes ibuprofen",
    )
    assert merged["chief_complaint"] == ("Knee pain",)  # merge_limit 1: the first chunk's wins
    assert len(merged["plan"]) == next(f.merge_limit for f in FIELDS if f.key == "plan")
    assert merged["results"] == ()


@pytest.mark.parametrize("kwargs", [{"max_items": 0}, {"max_chars": 5}, {"chunk_tokens": 10}])
def test_bad_options_are_input_errors(kwargs: dict[str, int]) -> None:
    with pytest.raises(InputError):
        ExtractOptions(**kwargs)
