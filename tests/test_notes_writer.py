"""Facts to note statements: every extracted fact reaches the note, each statement cites its turns.

The visit in tests/fixtures/notes/pneumonia_visit.txt was written for these tests (the scenario of
issue 16): none of it comes from ACI-BENCH.
"""

from __future__ import annotations

import re
from pathlib import Path

from assistant.notes.facts import extract_facts
from assistant.notes.grounding import check_note
from assistant.notes.note import ClinicalNote, _check_model_fields
from assistant.notes.person import Person, infer_person, third_person
from assistant.notes.render import json_problems, structure_problems, to_json, to_markdown, to_plain_text
from assistant.notes.sections import FIELD_KEYS
from assistant.notes.text import sentences
from assistant.notes.transcript import read_transcript
from assistant.notes.writer import fact_field, write_sections

VISIT = Path(__file__).parent / "fixtures" / "notes" / "pneumonia_visit.txt"


def _note() -> tuple[ClinicalNote, object]:
    transcript = read_transcript(str(VISIT))
    facts = extract_facts(transcript)
    written = write_sections(sentences(transcript), facts, infer_person(transcript))
    fields = {k: tuple(t for t, _ in written[k]) for k in FIELD_KEYS}
    note = ClinicalNote(
        fields=fields,
        flags=tuple(check_note(fields, transcript.text)),
        evidence={k: tuple(turns for _, turns in written[k]) for k in FIELD_KEYS},
        facts=tuple(facts),
    )
    return note, transcript


def section(note: ClinicalNote, key: str) -> str:
    return " ".join(note.fields[key])


def test_the_visit_note_states_every_fact_in_its_section() -> None:
    note, _ = _note()
    plan = section(note, "plan")
    assert "Start Doxycycline 100 mg twice daily for 7 days." in note.fields["plan"]
    assert "Stop Lisinopril (was 20 mg daily), replaced by Losartan." in note.fields["plan"]
    assert "Start Losartan 50 mg daily in place of Lisinopril." in note.fields["plan"]
    assert "Follow up in 2 weeks." in note.fields["plan"] and "6 weeks" in plan
    assert "Allergic to penicillin (reaction: hives)." in note.fields["history_of_present_illness"]
    assert "quit smoking" in section(note, "history_of_present_illness")
    exam = section(note, "physical_exam")
    for value in ("temperature 99.1", "blood pressure 138/84", "heart rate 92", "oxygen saturation 95%"):
        assert value in exam
    assert "crackles at the right lower lung base" in exam
    assert "opacity in the right lower lobe" in section(note, "results")
    assert "pneumonia" in section(note, "assessment")
    ros = section(note, "review_of_systems")
    assert "Denies chest pain." in ros and "Endorses cough for 5 days" in ros
    assert note.flags == ()  # every statement is grounded in the transcript


def test_no_extracted_fact_is_lost() -> None:
    note, _ = _note()
    for fact in note.facts:
        assert any(
            t in note.evidence[fact_field(fact)][i]
            for t in fact.turns
            for i in range(len(note.fields[fact_field(fact)]))
        ), fact


def test_every_statement_cites_the_turns_it_rests_on() -> None:
    note, _ = _note()
    plan = list(note.fields["plan"])
    assert note.turns_for("plan", plan.index("Start Doxycycline 100 mg twice daily for 7 days.")) == (15,)
    assert note.turns_for("plan", plan.index("Stop Lisinopril (was 20 mg daily), replaced by Losartan.")) == (
        8,
        16,
    )
    hpi = list(note.fields["history_of_present_illness"])
    assert note.turns_for(
        "history_of_present_illness", hpi.index("Allergic to penicillin (reaction: hives).")
    ) == (5, 6)
    assert all(note.turns_for(k, i) for k in FIELD_KEYS for i in range(len(note.fields[k])))


def test_markdown_evidence_footnotes_and_json_evidence() -> None:
    note, transcript = _note()
    markdown = to_markdown(note, evidence=True, transcript=transcript)
    assert structure_problems(markdown) == []
    marks = re.findall(r"\[\^(\d+)\](?!:)", markdown)
    notes = dict(re.findall(r"^\[\^(\d+)\]: (.*)$", markdown, flags=re.MULTILINE))
    assert marks and set(marks) == set(notes) and len(marks) == note.statements()
    doxy = next(n for n, text in notes.items() if "doxycycline 100 milligrams" in text)
    assert notes[doxy].startswith("turn 15.")
    assert "[^" not in to_markdown(note)  # footnotes only when asked
    obj = to_json(note)
    assert json_problems(obj) == []
    for key, statements in obj["sections"].items():
        assert len(obj["evidence"][key]) == len(statements)
    assert {
        "kind": "vital",
        "name": "blood pressure",
        "negated": False,
        "details": {"value": "138/84"},
        "turns": [11],
    } in obj["facts"]
    assert "[^" not in to_plain_text(note)


def test_a_model_field_that_drops_a_fact_is_written_from_the_facts() -> None:
    note, transcript = _note()
    facts = list(note.facts)
    written = {k: list(zip(note.fields[k], note.evidence[k], strict=True)) for k in FIELD_KEYS}
    model = {k: note.fields[k] for k in FIELD_KEYS}
    model["plan"] = ("Start doxycycline.",)  # drops the dose, losartan and the follow-up
    model["results"] = ("The chest x-ray showed an opacity in the right lower lobe.",)  # kept as is
    model["assessment"] = ("Pneumonia, treated with azithromycin 500 mg.",)  # not in the transcript
    chosen, from_facts = _check_model_fields(model, written, facts, transcript)
    assert "plan" in from_facts and [t for t, _ in chosen["plan"]] == list(note.fields["plan"])
    assert "assessment" in from_facts
    assert "results" not in from_facts and 13 in chosen["results"][0][1]  # evidence by shared words


def test_third_person_rewrite() -> None:
    he = Person("he", "his", "him")
    assert (
        third_person("i've had a cough and i feel tired.", he, "patient")
        == "He has had a cough and he feels tired."
    )
    assert third_person("i don't smoke.", he, "patient") == "He doesn't smoke."
    assert third_person("your lungs sound clear and i want you to rest.", he, "doctor") == (
        "His lungs sound clear and I want him to rest."
    )
