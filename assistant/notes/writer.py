"""Facts and the most informative transcript sentences, written as note statements with evidence turns.

Deterministic: the same transcript always gives the same note. Facts are written from their fields
(a medication from its name, dose, route, frequency, duration and action); exam findings, results,
history and plan sentences are the doctor's and patient's own words, turned into the third person.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from assistant.notes import vocab as v
from assistant.notes.facts import Fact
from assistant.notes.person import Person, third_person
from assistant.notes.text import Sentence

Statement = tuple[str, tuple[int, ...]]  # text, 1-based transcript turns it rests on
HPI_SENTENCES = 14
PLAN_SENTENCES = 12

_SYSTEMS = (
    ("Constitutional", "fever|fevers|chills|night sweats|sweats|fatigue|weakness|weight loss|"
     "weight gain|appetite|loss of appetite"),
    ("Respiratory", "cough|shortness of breath|trouble breathing|difficulty breathing|wheezing|"
     "sputum|phlegm"),
    ("Cardiovascular", "chest pain|palpitations|swelling|syncope|fainting|passed out"),
    ("Gastrointestinal", "nausea|vomiting|diarrhea|constipation|abdominal pain|stomach pain|"
     "belly pain|heartburn|reflux|bloating|blood in"),
    ("Genitourinary", "burning with urination|painful urination|urinary frequency|frequent urination"),
    ("Neurological", "headache|headaches|migraine|migraines|dizziness|lightheaded|lightheadedness|"
     "numbness|tingling"),
    ("Musculoskeletal", "pain|stiffness|cramps|cramping|muscle aches|body aches"),
    ("Psychiatric", "anxiety|depression|insomnia|trouble sleeping"),
    ("Skin", "rash|itching|bruising"),
    ("HEENT", "sore throat|congestion|runny nose|sneezing|ear pain|blurry vision|blurred vision|"
     "vision changes|toothache"),
)  # fmt: skip
_HOOK = re.compile(
    r"\b(?:pain|hurt\w*|feel\w*|tak(?:e|ing)|diagnos\w*|surgery|history|started|since|ago|worse|better|"
    r"medication|medicine|pills?|doctor|hospital|swell\w*|sleep\w*|weeks?|months?|days?|years?|\d+)\b"
)
_INTRO = re.compile(r"\b\d+[- ]year[- ]old\b|\bhistory of\b|\bpresents?\b")
_PLAN_CUE = re.compile(
    r"\b(?:i'm going to|i am going to|i'll|we'll|we will|let's|i want|i'd like|we're going to|recommend|"
    r"continue|start|prescrib\w*|order|refer\w*|follow up|come back|schedule|plan|should|need to|"
    r"advise\w*|make sure|keep|monitor|avoid|increase|decrease|stop)\b"
)
_COMPLAINT = re.compile(
    r"\b(?:presents?|here|coming in|came in|in) (?:today )?(?:for|with) (?:a |an |his |her )?([^,.;]+)"
)


_OPENER = re.compile(
    r"^(?:(?:so|and|okay|ok|alright|all right|well|now|but|um|uh)\b[,.]?\s+)+", re.IGNORECASE
)


def _cap(text: str) -> str:
    text = _OPENER.sub("", text.strip()) or text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else f"{text}."


def medication_text(f: Fact) -> str:
    d = f.details
    name = f.name.capitalize()
    regimen = " ".join(x for x in (d.get("dose", ""), d.get("route", ""), d.get("frequency", "")) if x)
    if d.get("duration"):
        regimen += f" for {d['duration']}"
    regimen = regimen.strip()
    action = d.get("action", "mentioned")
    if action == "stop":
        repl = f", replaced by {d['replaced_by'].capitalize()}" if d.get("replaced_by") else ""
        was = f" (was {regimen})" if regimen else ""
        return f"Stop {name}{was}{repl}."
    if action in ("increase", "decrease"):
        prev = f" from {d['previous_dose']}" if d.get("previous_dose") else ""
        return f"{action.capitalize()} {name}{prev} to {regimen or 'a new dose'}."
    verb = {"start": "Start", "continue": "Continue"}.get(action, "Medication:")
    extra = f" in place of {d['replaces'].capitalize()}" if d.get("replaces") else ""
    return f"{verb} {name} {regimen}{extra}".strip() + "."


def fact_text(f: Fact, person: Person) -> str:
    """One fact as a sentence (vitals and symptoms are grouped by the section writers instead)."""
    if f.kind == "medication":
        return medication_text(f)
    if f.kind == "allergy":
        if f.negated:
            return "No known drug allergies."
        reaction = f" (reaction: {f.details['reaction']})" if f.details.get("reaction") else ""
        return f"Allergic to {f.name}{reaction}."
    if f.kind == "follow_up":
        return f"Follow up in {f.name}."
    if f.kind == "diagnosis" and not f.source:
        return _cap(f.name)
    if f.kind == "referral" and not f.source:
        return f"Referral to {f.name}."
    return _cap(third_person(f.source, person, "doctor" if f.kind != "social" else _speaker_of(f)))


def _speaker_of(f: Fact) -> str:
    return "patient" if re.search(r"\b(?:i|i'm|i've|my)\b", f.source.lower()) else "doctor"


def write_sections(sents: list[Sentence], facts: list[Fact], person: Person) -> dict[str, list[Statement]]:
    """Statements per extraction field (see `sections.FIELD_KEYS`), each with its evidence turns."""
    out: dict[str, list[Statement]] = {k: [] for k in _FIELDS}
    by_kind: dict[str, list[Fact]] = {}
    for f in facts:
        by_kind.setdefault(f.kind, []).append(f)
    out["chief_complaint"] = _chief_complaint(sents, by_kind)
    out["history_of_present_illness"] = _hpi(sents, by_kind, person)
    out["review_of_systems"] = _ros(by_kind.get("symptom", []))
    vitals = by_kind.get("vital", [])
    if vitals:
        text = "Vital signs: " + ", ".join(f"{f.name} {f.details['value']}" for f in vitals) + "."
        out["physical_exam"].append((text, _turns(vitals)))
    out["physical_exam"] += _from_sources(by_kind.get("exam", []), person)
    out["results"] = _from_sources(by_kind.get("result", []), person)
    diagnoses = [f for f in by_kind.get("diagnosis", []) if f.source]
    out["assessment"] = _from_sources(diagnoses, person)
    plan = [
        (fact_text(f, person), f.turns)
        for kind in ("medication", "order", "referral", "follow_up")
        for f in by_kind.get(kind, [])
        if kind != "medication" or f.details.get("action") != "mentioned"
    ]
    said = {text for text, _ in out["assessment"]}
    out["plan"] = [
        st for st in _dedupe(plan + _plan_sentences(sents, person, out["assessment"])) if st[0] not in said
    ]
    return out


_FIELDS = ("chief_complaint", "history_of_present_illness", "review_of_systems", "physical_exam",
           "results", "assessment", "plan")  # fmt: skip


def _turns(facts: Iterable[Fact]) -> tuple[int, ...]:
    return tuple(sorted({t for f in facts for t in f.turns}))


def _from_sources(facts: list[Fact], person: Person) -> list[Statement]:
    by_text: dict[str, set[int]] = {}
    for f in facts:
        by_text.setdefault(fact_text(f, person), set()).update(f.turns)
    return [(text, tuple(sorted(turns))) for text, turns in by_text.items()]


def _dedupe(statements: list[Statement]) -> list[Statement]:
    seen: dict[str, int] = {}
    out: list[Statement] = []
    for text, turns in statements:
        key = text.lower()
        if key in seen:
            continue
        seen[key] = len(out)
        out.append((text, turns))
    return out


def _chief_complaint(sents: list[Sentence], by_kind: dict[str, list[Fact]]) -> list[Statement]:
    for s in sents:
        m = _COMPLAINT.search(s.text.lower()) if s.speaker != "patient" and not s.question else None
        if m and len(m.group(1).split()) <= 12:
            return [(_cap(m.group(1)), (s.turn,))]
    for kind in ("symptom", "diagnosis"):
        found = [f for f in by_kind.get(kind, []) if not f.negated]
        if found:
            return [(_cap(found[0].name), found[0].turns)]
    return []


def _hpi(sents: list[Sentence], by_kind: dict[str, list[Fact]], person: Person) -> list[Statement]:
    out: list[Statement] = []
    half = max(s.turn for s in sents) // 2 + 1 if sents else 0
    for s in sents:
        low = s.text.lower()
        if s.question or len(low.split()) < 4 or len(out) >= HPI_SENTENCES:
            continue
        intro = s.speaker != "patient" and s.turn <= half and _INTRO.search(low)
        patient = s.speaker in ("patient", "") and (_HOOK.search(low) or v.SYMPTOM.search(low))
        if intro or patient:
            out.append((_cap(third_person(s.text, person, s.speaker or "patient")), (s.turn,)))
    meds = [f for f in by_kind.get("medication", []) if f.details.get("action") in ("mentioned", "continue")]
    for f in meds:
        out.append(
            (
                "Current medication: "
                + medication_text(f).removeprefix("Medication: ").removeprefix("Continue "),
                f.turns,
            )
        )
    out += [(fact_text(f, person), f.turns) for f in by_kind.get("allergy", [])]
    out += _from_sources(by_kind.get("social", []), person)
    return _dedupe(out)


def _ros(symptoms: list[Fact]) -> list[Statement]:
    out: list[Statement] = []
    used: set[str] = set()
    for system, pattern in _SYSTEMS:
        mine = [f for f in symptoms if f.name not in used and re.search(rf"\b(?:{pattern})\b", f.name)]
        used.update(f.name for f in mine)
        out += _ros_line(system, mine)
    out += _ros_line("Other", [f for f in symptoms if f.name not in used])
    return out


def _ros_line(system: str, facts: list[Fact]) -> list[Statement]:
    if not facts:
        return []
    yes = [
        f.name + (f" for {f.details['onset']}" if f.details.get("onset") else "")
        for f in facts
        if not f.negated
    ]
    no = [f.name for f in facts if f.negated]
    parts = ([f"Endorses {', '.join(yes)}."] if yes else []) + ([f"Denies {', '.join(no)}."] if no else [])
    return [(f"{system}: {' '.join(parts)}", _turns(facts))]


def _plan_sentences(sents: list[Sentence], person: Person, assessment: list[Statement]) -> list[Statement]:
    """The doctor's own plan sentences from the second half of the visit (counselling, reasoning)."""
    if not sents:
        return []
    used = {t for _, turns in assessment for t in turns}
    start = max(s.turn for s in sents) // 2
    out: list[Statement] = []
    for s in sents:
        low = s.text.lower()
        if s.turn < start or s.speaker == "patient" or s.question or len(low.split()) < 6:
            continue
        if s.turn in used or not _PLAN_CUE.search(low):
            continue
        out.append((_cap(third_person(s.text, person, "doctor")), (s.turn,)))
        if len(out) >= PLAN_SENTENCES:
            break
    return out


def fact_field(f: Fact) -> str:
    """The extraction field a fact is written into."""
    if f.kind == "medication":
        return (
            "history_of_present_illness" if f.details.get("action") in ("mentioned", "continue") else "plan"
        )
    return {
        "allergy": "history_of_present_illness", "social": "history_of_present_illness",
        "symptom": "review_of_systems", "vital": "physical_exam", "exam": "physical_exam",
        "result": "results", "diagnosis": "assessment",
    }.get(f.kind, "plan")  # fmt: skip


def fact_markers(f: Fact) -> list[str]:
    """Words a statement must contain to state this fact (checked on normalized text)."""
    if f.kind == "medication":
        return [f.name] + f.details.get("dose", "").split()[:1]
    if f.kind == "vital":
        return re.findall(r"\d+(?:\.\d+)?", f.details.get("value", ""))
    if f.kind == "follow_up":
        return re.findall(r"\d+", f.name) + [f.name.split()[-1].rstrip("s")]
    if f.kind in ("allergy", "symptom", "diagnosis", "referral", "order"):
        return [] if f.kind == "allergy" and f.negated else [f.name.split()[-1]]
    return []
