"""Clinical facts from a transcript, deterministically, before any model runs; each keeps its turns.

Kinds: medication, allergy, vital, symptom, exam, result, diagnosis, order, referral, follow_up,
social. Later mentions refine earlier ones (a correction "actually make that 25 mg" wins), and every
mention's turn is kept as evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from assistant.notes import vocab as v
from assistant.notes.cues import (
    ABOUT_PATIENT,
    ALLERGEN,
    ANSWER_ALLERGEN,
    ASKED,
    ASSESS,
    BODY_PAIN,
    COMMAND,
    FINDING,
    FOLLOW,
    FUTURE,
    INSTRUCT,
    ONSET,
    ORDER,
    REACTION,
    REFER,
    VITAL_RANGE,
    VITALS,
)
from assistant.notes.drugs import TOKEN, drug_spans
from assistant.notes.text import Sentence, sentences
from assistant.notes.transcript import Transcript

Kind = Literal[
    "medication", "allergy", "vital", "symptom", "exam", "result", "diagnosis", "order", "referral",
    "follow_up", "social",
]  # fmt: skip
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]


@dataclass
class Fact:
    """One clinical fact; `turns` are 1-based transcript turn numbers, in order."""

    kind: Kind
    name: str
    turns: tuple[int, ...]
    negated: bool = False
    details: dict[str, str] = field(default_factory=dict)
    source: str = ""  # the tidy sentence it came from (exam, result, social: written from it)

    def cite(self, turns: Iterable[int]) -> None:
        self.turns = tuple(sorted(set(self.turns) | set(turns)))


class _Builder:
    def __init__(self, sents: list[Sentence]) -> None:
        self.sents = sents
        self.facts: dict[tuple[str, str], Fact] = {}
        self.last_med: tuple[str, int] | None = None
        self.in_exam = False  # between the doctor's "let's do your exam" and results or assessment

    def add(self, kind: Kind, name: str, turns: Iterable[int], **kw: object) -> Fact:
        key = (kind, name)
        fact = self.facts.get(key)
        if fact is None:
            fact = self.facts[key] = Fact(kind, name, tuple(sorted(set(turns))))
        else:
            fact.cite(turns)
        for attr, value in kw.items():
            if attr == "details":
                fact.details.update({k: str(x) for k, x in dict(value).items() if x})  # type: ignore[call-overload]
            elif value is not None:
                setattr(fact, attr, value)
        return fact

    def onset(self, s: Sentence) -> str:
        """When it started: said in this sentence, else elsewhere in the same turn."""
        return _onset(s.text.lower()) or _onset(
            " ".join(x.text.lower() for x in self.sents if x.turn == s.turn)
        )

    def next_answer(self, s: Sentence) -> Sentence | None:
        """The first sentence of the next turn, when another speaker says it."""
        return next((n for n in self.sents if n.turn == s.turn + 1 and n.speaker != s.speaker), None)


def extract_facts(transcript: Transcript) -> list[Fact]:
    """Every fact the rules find, in order of first mention."""
    b = _Builder(sentences(transcript))
    for s in b.sents:
        low = s.text.lower()
        _medications(b, s, low)
        _allergies(b, s, low)
        _vitals(b, s, low)
        _symptoms(b, s, low)
        if s.speaker != "patient" and not s.question:
            _doctor_statements(b, s, low)
        if SOCIAL_OK(s) and v.SOCIAL.search(low):
            b.add("social", _key(low), [s.turn], source=s.text)
    return sorted(b.facts.values(), key=lambda f: f.turns[0])


def SOCIAL_OK(s: Sentence) -> bool:  # noqa: N802 - a predicate read as a rule
    return not s.question and len(s.text.split()) >= 4


def _key(text: str) -> str:
    return " ".join(text.split()[:12])


def _medications(b: _Builder, s: Sentence, low: str) -> None:
    asked = next((x for x in reversed(b.sents) if x.turn == s.turn - 1), None)
    if "allerg" in low or (asked is not None and "allerg" in asked.text.lower()):
        return  # an allergen, not a medication the patient takes
    tokens = TOKEN.findall(low)
    spans = drug_spans(tokens)
    if not spans:
        dose = v.DOSE.search(low)
        last = b.facts.get(("medication", b.last_med[0])) if b.last_med else None
        undosed = last is not None and not last.details.get("dose") and s.speaker != "patient"
        recent = b.last_med is not None and s.turn - b.last_med[1] <= 3
        if dose and recent and (v.CORRECTION.search(low) or undosed):
            b.add("medication", b.last_med[0], [s.turn], details={"dose": _dose(dose)})  # type: ignore[index]
            b.last_med = (b.last_med[0], s.turn)  # type: ignore[index]
        return
    action = next((a for pat, a in v.ACTIONS if re.search(pat, low)), "mentioned")
    if action == "mentioned" and s.speaker != "patient" and INSTRUCT.match(low) and not s.question:
        action = "start"  # "take ibuprofen 400 mg twice a day": an instruction, not a history
    for n, (start, end, name) in enumerate(spans):
        nxt = spans[n + 1][0] if n + 1 < len(spans) else len(tokens)
        prev = spans[n - 1][1] + 1 if n else 0
        after = " ".join(tokens[end + 1 : nxt])
        before = " ".join(tokens[prev:start])
        dose = v.DOSE.search(after) or _last(v.DOSE.finditer(before))
        details = {
            "dose": _dose(dose) if dose else "",
            "frequency": _pick(v.FREQUENCIES, after) or _pick(v.FREQUENCIES, before),
            "route": _pick(v.ROUTES, f"{before} {after}"),
            "duration": _duration(after),
            "action": action,
        }
        existing = b.facts.get(("medication", name))
        if existing and action == "mentioned" and existing.details.get("action") not in (None, "mentioned"):
            details["action"] = existing.details["action"]  # a later passing mention keeps the plan
        if action == "switch" and len(spans) >= 2:
            old_first = "instead of" not in " ".join(tokens[spans[0][1] : spans[1][0]])
            is_old = (n == 0) == old_first
            other = spans[1 - n][2] if n < 2 else ""
            details["action"] = "stop" if is_old else "start"
            details["replaced_by" if is_old else "replaces"] = other
        if existing and details["dose"] and existing.details.get("dose") not in (None, "", details["dose"]):
            details["previous_dose"] = existing.details["dose"]
        b.add("medication", name, [s.turn], details=details)
        b.last_med = (name, s.turn)


def _last(matches: Iterable[re.Match[str]]) -> re.Match[str] | None:
    found = None
    for found in matches:  # noqa: B007
        pass
    return found


def _dose(match: re.Match[str]) -> str:
    return f"{match.group(1)} {v.UNIT_CANON.get(match.group(2), match.group(2))}"


def _pick(table: tuple[tuple[str, str], ...], text: str) -> str:
    for pattern, canon in table:
        m = re.search(rf"\b(?:{pattern})(?![a-z])", text)
        if m:
            return canon.format(*m.groups()) if m.groups() else canon
    return ""


def _duration(text: str) -> str:
    m = v.DURATION.search(text)
    return f"{'1' if m.group(1) in ('a', 'one') else m.group(1)} {m.group(2)}" if m else ""


def _allergies(b: _Builder, s: Sentence, low: str) -> None:
    if "allerg" not in low:
        return
    answer = b.next_answer(s) if s.question else None
    if re.search(r"\bno (?:known )?(?:drug )?allergies\b|\bnot allergic\b|\bnkda\b", low) or (
        answer and v.NO.match(answer.text.lower()) and not drug_spans(TOKEN.findall(answer.text.lower()))
    ):
        b.add("allergy", "no known allergies", [s.turn] + ([answer.turn] if answer else []), negated=True)
        return
    texts = [(s, low)] + ([(answer, answer.text.lower())] if answer else [])
    for sent, text in texts:
        drugs = [name for _, _, name in drug_spans(TOKEN.findall(text))]
        m = ALLERGEN.search(text)
        allergen = drugs[0] if drugs else (m.group(1) or m.group(2)) if m else ""
        if not allergen and sent is not s:  # the answer names it: "yes, sulfa drugs give me a rash"
            said = ANSWER_ALLERGEN.match(text)
            allergen = said.group(1) if said else ""
        if not allergen or allergen in ("any", "you", "i", "an", "your", "no", "are", "have", "the"):
            continue
        reaction_src = " ".join(x.text.lower() for x in b.sents if sent.turn <= x.turn <= sent.turn + 1)
        reaction = v_reaction(reaction_src)
        b.add("allergy", allergen, [s.turn, sent.turn], details={"reaction": reaction})


def v_reaction(text: str) -> str:
    m = REACTION.search(text)
    return m.group(0) if m else ""


def _vitals(b: _Builder, s: Sentence, low: str) -> None:
    for name, pattern in VITALS:
        m = pattern.search(low)
        if not m:
            continue
        lo, hi = VITAL_RANGE[name]
        if not lo <= float(m.group(1)) <= hi:
            continue
        if name == "blood pressure":
            value = f"{m.group(1)}/{m.group(2)}"
        elif name == "weight":
            value = f"{m.group(1)} {'lbs' if m.group(2) in ('pounds', 'lbs') else 'kg'}"
        elif name == "oxygen saturation":
            value = f"{m.group(1)}%"
        else:
            value = m.group(1)
        b.add("vital", name, [s.turn], details={"value": value})


def _symptoms(b: _Builder, s: Sentence, low: str) -> None:
    if s.speaker not in ("patient", "") and not s.question and not ABOUT_PATIENT.search(low):
        return  # "i see mild swelling": the doctor's finding, not a reported symptom
    for m in BODY_PAIN.finditer(low):
        side = f"{m.group(1)} " if m.group(1) else ""
        negated = bool(v.NEGATION.search(low[: m.start()].split(",")[-1]))
        _add_symptom(b, f"{side}{m.group(2)} pain", [s.turn], negated, "" if negated else b.onset(s))
    found = list(v.SYMPTOM.finditer(low))
    if not found:
        return
    turns = [s.turn]
    if s.question:
        answer = b.next_answer(s) if s.speaker != "patient" else None
        if answer is None:
            return
        alow = answer.text.lower()
        if v.NO.match(alow):
            negated = True
        elif v.YES.match(alow):
            negated = False
        else:
            return
        turns.append(answer.turn)
        onset = _onset(alow)
        for m in found:
            _add_symptom(b, m.group(0), turns, negated, onset if not negated else "")
        return
    onset = b.onset(s)
    for m in found:
        clause = NEG_SCOPE.split(low[: m.start()])[-1]
        negated = bool(v.NEGATION.search(" ".join(clause.split()[-6:])))
        _add_symptom(b, m.group(0), turns, negated, "" if negated else onset)


NEG_SCOPE = v.NEGATION_END


def _add_symptom(b: _Builder, name: str, turns: list[int], negated: bool, onset: str) -> None:
    name = {"bloated": "bloating", "dizzy": "dizziness", "tired": "fatigue", "swollen": "swelling",
            "short of breath": "shortness of breath", "itchy": "itching"}.get(name, name)  # fmt: skip
    b.add("symptom", name, turns, negated=negated, details={"onset": onset})


def _onset(text: str) -> str:
    m = ONSET.search(text)
    return next((g for g in m.groups() if g), "") if m else ""


def _doctor_statements(b: _Builder, s: Sentence, low: str) -> None:
    future = bool(FUTURE.search(low))
    interval = v.INTERVAL.search(low)
    if FOLLOW.search(low) and interval and future | bool(re.search(r"\bfollow", low)):
        b.add("follow_up", _interval(interval), [s.turn], source=s.text)
    test = v.TEST.search(low)
    if test and future and ORDER.search(low):
        b.add("order", test.group(0), [s.turn], source=s.text)
    elif test and v.RESULT_CUE.search(low) and not future and not COMMAND.match(low):
        b.add("result", _key(low), [s.turn], source=s.text, details={"test": test.group(0)})
    spec = v.SPECIALTY.search(low)
    if spec and REFER.search(low) and (future or "refer" in low):
        b.add("referral", spec.group(0), [s.turn], source=s.text)
    if re.search(r"\bexam\w*|\bphysical\b", low):
        b.in_exam = True
    elif test or ASSESS.search(low) or "result" in low:
        b.in_exam = False
    finding = v.EXAM_CUE.search(low) and FINDING.search(low)
    windowed = b.in_exam and len(low.split()) >= 5 and FINDING.search(low)
    if (finding or windowed) and not future and not test and not ASKED.match(low):
        b.add("exam", _key(low), [s.turn], source=s.text)
    assessing = ASSESS.search(low) or future
    found = list(v.DIAGNOSIS.finditer(low)) + (list(v.DISEASE_WORD.finditer(low)) if assessing else [])
    for m in found:
        clause = NEG_SCOPE.split(low[: m.start()])[-1]
        negated = bool(re.search(r"\b(?:no|not|without|rule out|ruled out)\b", clause))
        b.add("diagnosis", m.group(0), [s.turn], negated=negated, source=s.text)


def _interval(m: re.Match[str]) -> str:
    count = {"a": "1", "one": "1", "a couple of": "2", "a few": "a few"}.get(m.group(1), m.group(1))
    unit = m.group(2)
    return f"{count} {unit if count != '1' else unit.rstrip('s')}" if count == "1" else f"{count} {unit}"
