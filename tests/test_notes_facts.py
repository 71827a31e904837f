"""The deterministic fact extractor on transcripts written for these tests (not from ACI-BENCH).

Each test asserts the exact facts and the transcript turns (from 1) they rest on.
"""

from __future__ import annotations

from assistant.notes.facts import Fact, extract_facts
from assistant.notes.transcript import parse_transcript


def facts(text: str, kind: str) -> dict[str, Fact]:
    return {f.name: f for f in extract_facts(parse_transcript(text)) if f.kind == kind}


def test_new_medication_with_dose_route_frequency_and_duration() -> None:
    meds = facts(
        "Doctor: How are you feeling?\n"
        "Patient: My throat is killing me.\n"
        "Doctor: I'm going to start you on amoxicillin 500 milligrams by mouth three times a day "
        "for ten days.\n",
        "medication",
    )
    assert set(meds) == {"amoxicillin"}
    assert meds["amoxicillin"].details == {
        "dose": "500 mg",
        "route": "by mouth",
        "frequency": "three times daily",
        "duration": "10 days",
        "action": "start",
    }
    assert meds["amoxicillin"].turns == (3,)


def test_correction_wins_and_both_turns_are_evidence() -> None:
    meds = facts(
        "Doctor: Let's start metoprolol 50 milligrams twice a day.\n"
        "Patient: Okay.\n"
        "Doctor: Actually, make that 25 milligrams, your heart rate is on the low side.\n",
        "medication",
    )
    assert meds["metoprolol"].details["dose"] == "25 mg"
    assert meds["metoprolol"].details["frequency"] == "twice daily"
    assert meds["metoprolol"].turns == (1, 3)


def test_a_dose_without_correction_words_far_away_is_not_moved() -> None:
    meds = facts(
        "Doctor: Keep taking atorvastatin 40 milligrams at bedtime.\n"
        "Patient: Sure.\nDoctor: Anything else?\nPatient: No.\nDoctor: Okay.\n"
        "Doctor: Actually, make that 25 milligrams of something for the pain.\n",
        "medication",
    )
    assert meds["atorvastatin"].details["dose"] == "40 mg"
    assert meds["atorvastatin"].details["action"] == "continue"
    assert meds["atorvastatin"].turns == (1,)


def test_switch_stops_the_old_drug_and_starts_the_new_one() -> None:
    meds = facts(
        "Patient: I take lisinopril 10 milligrams every day.\n"
        "Doctor: That cough may be the lisinopril. "
        "Let's switch lisinopril to losartan 50 milligrams daily.\n",
        "medication",
    )
    assert meds["lisinopril"].details == {
        "dose": "10 mg",
        "frequency": "daily",
        "action": "stop",
        "replaced_by": "losartan",
    }
    assert meds["lisinopril"].turns == (1, 2)
    assert meds["losartan"].details == {
        "dose": "50 mg",
        "frequency": "daily",
        "action": "start",
        "replaces": "lisinopril",
    }


def test_dose_increase_keeps_the_previous_dose_and_stop_is_recorded() -> None:
    meds = facts(
        "Patient: I'm on furosemide 20 milligrams in the morning.\n"
        "Doctor: We'll increase the furosemide to 40 milligrams in the morning.\n"
        "Doctor: And please stop the ibuprofen.\n",
        "medication",
    )
    assert meds["furosemide"].details["dose"] == "40 mg"
    assert meds["furosemide"].details["previous_dose"] == "20 mg"
    assert meds["furosemide"].details["action"] == "increase"
    assert meds["furosemide"].turns == (1, 2)
    assert meds["ibuprofen"].details["action"] == "stop" and meds["ibuprofen"].turns == (3,)


def test_allergy_with_reaction_from_the_answer_turn() -> None:
    found = facts(
        "Doctor: Do you have any allergies to medications?\nPatient: Yes, sulfa drugs give me a rash.\n",
        "allergy",
    )
    assert set(found) == {"sulfa"}
    assert found["sulfa"].details == {"reaction": "rash"} and found["sulfa"].turns == (1, 2)
    assert "sulfa" not in facts(
        "Doctor: Any allergies?\nPatient: Yes, sulfa gives me a rash.\n", "medication"
    )


def test_no_known_allergies_is_a_negated_fact() -> None:
    found = facts("Doctor: Any allergies to medicines?\nPatient: No, none that I know of.\n", "allergy")
    assert list(found) == ["no known allergies"]
    assert found["no known allergies"].negated and found["no known allergies"].turns == (1, 2)


def test_vitals_spoken_and_written() -> None:
    found = facts(
        "Doctor: Your temperature is ninety nine point one and blood pressure is one thirty eight over "
        "eighty four.\n"
        "Doctor: Heart rate 76, respiratory rate 16, and oxygen saturation 97 percent.\n"
        "Doctor: You weigh 182 pounds today.\n",
        "vital",
    )
    assert {k: f.details["value"] for k, f in found.items()} == {
        "temperature": "99.1",
        "blood pressure": "138/84",
        "heart rate": "76",
        "respiratory rate": "16",
        "oxygen saturation": "97%",
        "weight": "182 lbs",
    }
    assert found["temperature"].turns == (1,) and found["weight"].turns == (3,)


def test_symptoms_onset_and_negations_in_the_sentence_and_by_answer() -> None:
    found = facts(
        "Patient: I've had a headache for three days and some nausea.\n"
        "Doctor: Any fever or vomiting?\n"
        "Patient: No.\n"
        "Patient: I have no chest pain but my neck feels stiff.\n",
        "symptom",
    )
    assert not found["headache"].negated and found["headache"].details["onset"] == "3 days"
    assert found["headache"].turns == (1,)
    assert not found["nausea"].negated
    assert found["fever"].negated and found["fever"].turns == (2, 3)
    assert found["vomiting"].negated and found["vomiting"].turns == (2, 3)
    assert found["chest pain"].negated and found["chest pain"].turns == (4,)


def test_yes_answer_affirms_the_asked_symptom() -> None:
    found = facts("Doctor: Any shortness of breath?\nPatient: Yeah, when I climb stairs.\n", "symptom")
    assert not found["shortness of breath"].negated and found["shortness of breath"].turns == (1, 2)


def test_exam_results_diagnosis_orders_referral_follow_up_and_social() -> None:
    text = (
        "Patient: I drink about two beers a week and I don't smoke.\n"
        "Doctor: Let me examine you.\n"
        "Doctor: On exam there is tenderness over the left ankle and mild swelling.\n"
        "Doctor: The x-ray showed no fracture.\n"
        "Doctor: I think you have an ankle sprain, there's no fracture.\n"
        "Doctor: I'm going to order an MRI if it is not better.\n"
        "Doctor: I'll refer you to physical therapy.\n"
        "Doctor: Let's follow up in three weeks.\n"
    )
    all_facts = extract_facts(parse_transcript(text))
    kinds = {(f.kind, f.name): f for f in all_facts}
    assert kinds[("exam", "on exam there is tenderness over the left ankle and mild swelling.")].turns == (3,)
    assert kinds[("result", "the x-ray showed no fracture.")].details == {"test": "x-ray"}
    assert not kinds[("diagnosis", "sprain")].negated and kinds[("diagnosis", "sprain")].turns == (5,)
    assert kinds[("diagnosis", "fracture")].negated
    assert kinds[("order", "mri")].turns == (6,)
    assert kinds[("referral", "physical therapy")].turns == (7,)
    assert kinds[("follow_up", "3 weeks")].turns == (8,)
    social = [f for f in all_facts if f.kind == "social"]
    assert [f.turns for f in social] == [(1,)] and "2 beers" in social[0].source


def test_a_question_alone_is_not_a_fact() -> None:
    assert facts("Doctor: Do you have any chest pain?\n", "symptom") == {}
    assert (
        facts("Doctor: Are you taking aspirin?\n", "medication")["aspirin"].details["action"] == "mentioned"
    )
