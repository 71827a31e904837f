"""Grounding check: planted hallucinations are flagged, facts the transcript states are not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.notes.grounding import TranscriptFacts, check_note, normalize, unsupported_facts
from assistant.notes.note import ClinicalNote
from assistant.notes.render import FLAG_MARK, to_json, to_markdown
from assistant.notes.sections import FIELD_KEYS
from assistant.notes.transcript import parse_transcript

CASES = Path(__file__).parent / "fixtures" / "aci" / "cases.json"


@pytest.fixture(scope="module")
def martinez() -> str:
    """ACI-BENCH D2N092: wrist strain; Motrin 800 milligrams three times a day; flonase; x-ray normal."""
    case = json.loads(CASES.read_text(encoding="utf-8"))["data"][0]
    assert case["file"] == "D2N092-virtassist"
    return parse_transcript(case["src"]).text


def test_number_words_and_units_normalize() -> None:
    assert normalize("Lisinopril twenty-five milligrams") == ["lisinopril", "25", "mg"]
    assert normalize("one hundred and twenty over eighty") == ["120", "over", "80"]
    assert normalize("ninety eight point six, forty five percent") == ["98.6", "45", "%"]
    assert normalize("2,000 units") == ["2000", "units"]


def test_planted_dose_is_flagged_and_the_real_dose_is_not(martinez: str) -> None:
    fields = {key: () for key in FIELD_KEYS}
    fields["plan"] = (
        "Motrin 800 mg three times a day with food.",  # stated ("800 milligrams")
        "Motrin 1600 mg three times a day.",  # planted: dose never said
        "Start prednisone 40 mg daily.",  # planted: drug and dose never said
    )
    flags = check_note(fields, martinez)
    by_statement = {f.statement: f.unsupported for f in flags}
    assert "Motrin 800 mg three times a day with food." not in by_statement
    assert by_statement["Motrin 1600 mg three times a day."] == ("1600 mg",)
    assert by_statement["Start prednisone 40 mg daily."] == ("40 mg", "prednisone")


def test_findings_numbers_and_paraphrase(martinez: str) -> None:
    facts = TranscriptFacts(martinez)
    assert unsupported_facts("Tenderness over the distal radius.", facts) == ()
    assert unsupported_facts("43-year-old female who takes Flonase.", facts) == ()
    assert unsupported_facts("Bilateral crackles and a systolic murmur.", facts) == ("crackles", "murmur")
    assert unsupported_facts("Follow up in 6 weeks.", facts) == ("6",)
    assert (
        unsupported_facts("Follow up in 1 week.", facts) == ()
    )  # "in the next week": a bare 1 is never flagged


def test_flagged_statements_are_marked_in_markdown_and_json(martinez: str) -> None:
    fields = {key: () for key in FIELD_KEYS}
    fields["plan"] = ("Motrin 800 mg with food.", "Warfarin 5 mg nightly.")
    flags = tuple(check_note(fields, martinez))
    note = ClinicalNote(fields=fields, flags=flags)
    text = to_markdown(note)
    assert f"- Warfarin 5 mg nightly. {FLAG_MARK} not in transcript: 5 mg, warfarin" in text
    assert "- Motrin 800 mg with food.\n" in text
    assert "Grounding check: 1 of 2 statements" in text
    assert to_json(note)["flags"] == [
        {"field": "plan", "statement": "Warfarin 5 mg nightly.", "unsupported": ["5 mg", "warfarin"]}
    ]
    assert FLAG_MARK not in to_markdown(note, annotate=False)
