"""Drug names in a sentence: the `drug-named-entity-recognition` dictionary, else our short lexicon.

The dictionary ships inside its wheel (no download); it is optional so the note mode still runs, with
the lexicon and drug-name endings only, where the package is missing.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from assistant.notes.lexicon import DRUG_SUFFIX, DRUGS, NOT_DRUGS
from assistant.notes.vocab import word_set

_NOT_DRUG_WORDS = word_set(
    "hemoglobin ferritin immunoglobulin antibodies antibody cholesterol glucose creatinine "
    "water sugar salt oxygen iron alcohol caffeine nicotine food blood fluid vitamin today tomorrow "
    "pain heart cold stress diet sleep coffee tea milk ice heat exercise care air plan"
)


@functools.lru_cache(maxsize=1)
def _finder() -> Any:
    try:
        from drug_named_entity_recognition import find_drugs
    except ImportError:
        return None
    return find_drugs


def dictionary_available() -> bool:
    return _finder() is not None


def drug_spans(tokens: list[str]) -> list[tuple[int, int, str]]:
    """(first token, last token, canonical lower-case name) for each drug in `tokens` (lower case)."""
    found: dict[int, tuple[int, int, str]] = {}
    finder = _finder()
    if finder is not None:
        for _entry, start, stop in finder(tokens, is_ignore_case=True):  # `stop` is exclusive
            span = " ".join(tokens[start:stop])  # the name as said, so the note can be checked against it
            words = span.split()
            if (
                len(span) < 5
                or not span.replace(" ", "").isalpha()
                or any(w in _NOT_DRUG_WORDS or len(w) < 2 for w in words)
            ):
                continue
            found[start] = (start, stop - 1, span)
    for i, tok in enumerate(tokens):
        if i in found or any(s <= i <= e for s, e, _ in found.values()):
            continue
        suffix = len(tok) > 5 and DRUG_SUFFIX.search(tok) and tok not in NOT_DRUGS
        if (tok in DRUGS or suffix) and tok not in _NOT_DRUG_WORDS:
            found[i] = (i, i, tok)
    return sorted(found.values())


TOKEN = re.compile(r"\d+(?:\.\d+)?|[a-z]+(?:[-'][a-z]+)*|%")
