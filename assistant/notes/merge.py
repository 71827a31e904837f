"""Merge per-chunk extractions into one note: keep chunk order, drop near-duplicates, cap each field."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.notes.sections import FIELDS

NEAR_DUPLICATE = 0.7  # word-set overlap above which two statements say the same thing


def _words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z0-9]+", text.lower()))


def is_near_duplicate(a: str, b: str) -> bool:
    """Same words, or one statement's words nearly all inside the other's."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return wa == wb
    overlap = len(wa & wb)
    return overlap / len(wa | wb) >= NEAR_DUPLICATE or overlap / min(len(wa), len(wb)) >= 0.9


def merge_extractions(parts: Sequence[dict[str, list[str]]]) -> dict[str, tuple[str, ...]]:
    """One statement list per field, in transcript order; the longer of two duplicates wins."""
    merged: dict[str, tuple[str, ...]] = {}
    for spec in FIELDS:
        kept: list[str] = []
        for part in parts:
            for item in part.get(spec.key, []):
                dup = next((i for i, k in enumerate(kept) if is_near_duplicate(k, item)), None)
                if dup is None:
                    kept.append(item)
                elif len(item) > len(kept[dup]):
                    kept[dup] = item
        merged[spec.key] = tuple(kept[: spec.merge_limit])
    return merged
