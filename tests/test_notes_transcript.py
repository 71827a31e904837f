"""Transcript formats and input validation for the note mode (no model needed)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.notes.transcript import parse_transcript, read_transcript

FIXTURES = Path(__file__).parent / "fixtures" / "aci" / "cases.json"


def aci_case(index: int = 0) -> dict[str, str]:
    return json.loads(FIXTURES.read_text(encoding="utf-8"))["data"][index]


def test_aci_tags_give_one_turn_per_tagged_line() -> None:
    src = aci_case()["src"]
    parsed = parse_transcript(src)
    assert parsed.format == "tags"
    tagged = [ln for ln in src.splitlines() if ln.startswith("[")]
    assert len(parsed.turns) == len(tagged)
    assert {t.speaker for t in parsed.turns} <= {"doctor", "patient", "patient_guest"}
    assert parsed.turns[0].speaker == "doctor"
    assert parsed.turns[0].text.startswith("hello , mrs . martinez")
    assert "[doctor]" not in parsed.text and parsed.text.startswith("Doctor: hello")


def test_prefixes_with_continuation_lines() -> None:
    text = (
        "Doctor: What brings you in today?\n"
        "Patient: My knee hurts.\n"
        "It started two weeks ago after a fall.\n"
        "\n"
        "DOCTOR: Any swelling?\n"
        "patient: A little.\n"
    )
    parsed = parse_transcript(text)
    assert parsed.format == "prefixes"
    assert [t.speaker for t in parsed.turns] == ["doctor", "patient", "doctor", "patient"]
    assert parsed.turns[1].text == "My knee hurts. It started two weeks ago after a fall."


def test_plain_text_becomes_unattributed_sentences() -> None:
    text = "The patient reports knee pain for two weeks. No swelling.\n\nExam shows mild tenderness."
    parsed = parse_transcript(text)
    assert parsed.format == "plain"
    assert [t.speaker for t in parsed.turns] == ["", "", ""]
    assert parsed.turns[2].text == "Exam shows mild tenderness."
    assert parsed.text.splitlines()[0] == "The patient reports knee pain for two weeks."


def test_a_stray_label_does_not_turn_prose_into_a_dialogue() -> None:
    text = "Doctor: hello.\nThe patient came in with a cough.\nShe has had it for a week.\nNo fever.\n"
    assert parse_transcript(text).format == "plain"


def test_stdin_dash_reads_the_stream() -> None:
    parsed = read_transcript("-", stdin=io.BytesIO(b"[doctor] hi .\n[patient] my back hurts .\n"))
    assert [t.speaker for t in parsed.turns] == ["doctor", "patient"]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"  \n\t\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("caf\u00e9 visit".encode("latin-1"), "not UTF-8"),
    ],
)
def test_unusable_files_fail_clearly(tmp_path: Path, data: bytes, words: str) -> None:
    path = tmp_path / "visit.txt"
    path.write_bytes(data)
    with pytest.raises(InputError) as info:
        read_transcript(str(path))
    assert words in info.value.title
    assert info.value.next_step


def test_missing_file_and_directory_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_transcript(str(tmp_path / "nope.txt"))
    with pytest.raises(InputError, match="not a file"):
        read_transcript(str(tmp_path))
