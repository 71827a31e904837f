"""Fact recall against a reference note, deterministically (for bench/notes_eval.py).

From the reference note we take its medications, doses, vitals, allergies, diagnoses and follow-up
intervals; a fact counts only if the transcript also contains it (a reference may state what was never
said). Recall is the share of those our note states. All three texts are normalized the same way
(number words to digits, unit spellings to one form) and compared as token sequences.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from assistant.notes import vocab as v
from assistant.notes.cues import VITALS
from assistant.notes.drugs import TOKEN, drug_spans
from assistant.notes.grounding import normalize

CATEGORIES = ("medications", "doses", "vitals", "allergies", "diagnoses", "follow_up")
FOLLOW = re.compile(r"\b(?:follow|return|come back|see (?:him|her|them|the patient|you)|recheck)\b")
_DOSE_UNITS = frozenset({"mg", "mcg", "g", "units", "ml"})


def _joined(text: str) -> str:
    return " " + " ".join(normalize(text)) + " "


def _has(haystack: str, phrase: str) -> bool:
    tokens = normalize(phrase)
    return bool(tokens) and f" {' '.join(tokens)} " in haystack


def reference_facts(reference: str) -> dict[str, set[str]]:
    """Category -> fact phrases the reference note states."""
    low = reference.lower()
    tokens = TOKEN.findall(low)
    facts: dict[str, set[str]] = {c: set() for c in CATEGORIES}
    facts["medications"] = {name for _, _, name in drug_spans(tokens)}
    norm = normalize(low)
    facts["doses"] = {
        f"{a} {b}" for a, b in zip(norm, norm[1:], strict=False) if a[0].isdigit() and b in _DOSE_UNITS
    }
    for sentence in re.split(r"(?<=[.!?\n])\s+", low):
        for _name, pattern in VITALS:
            for m in pattern.finditer(sentence):
                facts["vitals"].add(m.group(1) if pattern.groups == 1 or not m.group(2).isdigit() else
                                    f"{m.group(1)} {m.group(2)}")  # fmt: skip
        if "allerg" in sentence:
            if re.search(r"\bno known (?:drug )?allergies\b|\bnkda\b", sentence):
                facts["allergies"].add("allergies")
            facts["allergies"].update(n for _, _, n in drug_spans(TOKEN.findall(sentence)))
        if FOLLOW.search(sentence):
            facts["follow_up"].update(m.group(0) for m in v.INTERVAL.finditer(sentence))
    facts["diagnoses"] = {m.group(0) for m in v.DIAGNOSIS.finditer(low)}
    return facts


def fact_recall(reference: str, transcript: str, note: str) -> dict[str, tuple[int, int]]:
    """Category -> (facts our note states, facts the reference states that the transcript contains)."""
    said, ours = _joined(transcript), _joined(note)
    out: dict[str, tuple[int, int]] = {}
    for category, phrases in reference_facts(reference).items():
        eligible = [p for p in phrases if _present(p, said)]
        out[category] = (sum(_present(p, ours) for p in eligible), len(eligible))
    return out


def _present(phrase: str, haystack: str) -> bool:
    """Every number of a vital ("138 84") or the whole phrase otherwise."""
    parts: Iterable[str] = phrase.split() if phrase.replace(" ", "").isdigit() else [phrase]
    return all(_has(haystack, p) for p in parts)
