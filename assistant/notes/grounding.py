"""Grounding check: flag note statements whose numbers, doses, medications or findings the transcript lacks.

Deterministic and conservative: both texts are normalized (number words to digits, unit spellings to
one form), then each checkable fact in a statement must occur in the transcript. A flag means "check
this against the conversation", not "this is wrong": paraphrase can cause false flags, which the bench
measures on the human-written reference notes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from assistant.notes.lexicon import DRUG_SUFFIX, DRUGS, FINDING_GROUPS, FINDINGS, NOT_DRUGS


def _numbered(words: str, start: int = 0, step: int = 1) -> dict[str, int]:
    return {w: start + step * i for i, w in enumerate(words.split())}


_ONES = _numbered(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
)
_TENS = _numbered("twenty thirty forty fifty sixty seventy eighty ninety", 20, 10)
_EXTRA_NUMBERS = {  # words that stand for a number in speech but are not converted in place
    **_numbered("january february march april may june july august september october november december", 1),
    **_numbered("first second third fourth fifth", 1),
    "once": 1, "twice": 2, "dozen": 12,
}  # fmt: skip
UNITS = {
    "mg": "mg", "mgs": "mg", "milligram": "mg", "milligrams": "mg",
    "mcg": "mcg", "ug": "mcg", "microgram": "mcg", "micrograms": "mcg",
    "g": "g", "gram": "g", "grams": "g", "kg": "kg", "kilogram": "kg", "kilograms": "kg",
    "ml": "ml", "milliliter": "ml", "milliliters": "ml", "cc": "ml", "l": "l", "liter": "l", "liters": "l",
    "unit": "units", "units": "units", "iu": "units", "%": "%", "percent": "%",
    "mmhg": "mmhg", "lb": "lb", "lbs": "lb", "pound": "lb", "pounds": "lb",
    "cm": "cm", "centimeter": "cm", "centimeters": "cm", "mm": "mm", "millimeter": "mm",
    "millimeters": "mm", "meq": "meq", "puffs": "puffs", "puff": "puffs", "tablets": "tablets",
    "tablet": "tablets", "pills": "tablets", "pill": "tablets", "capsules": "tablets",
}  # fmt: skip
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+|%")


@dataclass(frozen=True)
class Flag:
    """A statement with facts the transcript does not contain."""

    field: str
    statement: str
    unsupported: tuple[str, ...]


def _number_words(tokens: list[str]) -> list[str]:
    """Replace runs like "one hundred and twenty five point five" with "125.5"."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i] not in _ONES and tokens[i] not in _TENS:
            out.append(tokens[i])
            i += 1
            continue
        total = current = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok in _ONES and (current % 10 == 0 or current >= 100 and current % 100 == 0):
                current += _ONES[tok]
            elif tok in _TENS and current % 100 == 0:
                current += _TENS[tok]
            elif tok == "hundred" and 0 < current < 100:
                current *= 100
            elif tok == "thousand" and current:
                total, current = total + current * 1000, 0
            elif (
                tok == "and"
                and (current >= 100 or total)
                and i + 1 < len(tokens)
                and (tokens[i + 1] in _ONES or tokens[i + 1] in _TENS)
            ):
                pass
            else:
                break
            i += 1
        value = str(total + current)
        if i + 1 < len(tokens) and tokens[i] == "point" and tokens[i + 1] in _ONES:
            digits = []
            i += 1
            while i < len(tokens) and tokens[i] in _ONES and _ONES[tokens[i]] < 10:
                digits.append(str(_ONES[tokens[i]]))
                i += 1
            value = f"{value}.{''.join(digits)}"
        out.append(value)
    return out


def normalize(text: str) -> list[str]:
    """Lower-case tokens with number words as digits and units in one spelling."""
    raw = _TOKEN.findall(text.lower().replace("-", " "))
    tokens = [t.replace(",", "") if t[0].isdigit() else t for t in raw]
    return [UNITS.get(t, t) for t in _number_words(tokens)]


def _is_number(token: str) -> bool:
    return token[0].isdigit()


def _canon(number: str) -> str:
    return number.rstrip("0").rstrip(".") if "." in number else number.lstrip("0") or "0"


def _stem(word: str) -> str:
    return word[:5]


class TranscriptFacts:
    """What a transcript states, indexed for fast lookup."""

    def __init__(self, text: str) -> None:
        tokens = normalize(text)
        self.words = {t for t in tokens if not _is_number(t)}
        self.stems = {_stem(w) for w in self.words}
        self.numbers = {_canon(t) for t in tokens if _is_number(t)}
        self.numbers |= {str(n) for w, n in _EXTRA_NUMBERS.items() if w in self.words}
        self.numbers.add("1")  # said as "a", "an", "once", "single": never worth a flag on its own
        pairs = list(zip(tokens, tokens[1:], strict=False))
        self.doses = {(_canon(a), b) for a, b in pairs if _is_number(a) and b in _UNIT_SET}
        # spoken years and compound numbers: "nineteen ninety six" -> 19, 96 -> also 1996
        self.numbers |= {a + b for a, b in pairs if _is_number(a) and _is_number(b)}

    def finding_grounded(self, word: str) -> bool:
        group = FINDING_GROUPS.get(word, (word,))
        return any(_stem(w) in self.stems for w in group)


_UNIT_SET = frozenset(UNITS.values())


def unsupported_facts(statement: str, facts: TranscriptFacts) -> tuple[str, ...]:
    """The doses, numbers, medications and findings in `statement` that `facts` lacks, in order."""
    tokens = normalize(statement)
    missing: list[str] = []
    skip = set()
    for i, tok in enumerate(tokens):
        if i in skip or not _is_number(tok):
            continue
        if i + 1 < len(tokens) and tokens[i + 1] in _UNIT_SET:
            skip.add(i + 1)
            if (_canon(tok), tokens[i + 1]) not in facts.doses:
                missing.append(f"{tok} {tokens[i + 1]}")
        elif _canon(tok) not in facts.numbers:
            missing.append(tok)
    for i, tok in enumerate(tokens):
        if i in skip or _is_number(tok) or len(tok) < 4:
            continue
        drug = tok in DRUGS or (DRUG_SUFFIX.search(tok) is not None and tok not in NOT_DRUGS)
        finding = tok in FINDINGS and not facts.finding_grounded(tok)
        if (drug and tok not in facts.words) or finding:
            missing.append(tok)
    return tuple(dict.fromkeys(missing))


def check_note(fields: Mapping[str, Sequence[str]], transcript: str) -> list[Flag]:
    """Flags for every statement of every field that has unsupported facts."""
    facts = TranscriptFacts(transcript)
    return [
        Flag(key, statement, missing)
        for key, statements in fields.items()
        for statement in statements
        if (missing := unsupported_facts(statement, facts))
    ]


def flag_rate(flags: Iterable[Flag], statements: int) -> float:
    return len(list(flags)) / statements if statements else 0.0
