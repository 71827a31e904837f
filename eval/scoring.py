"""Scores shared by the benchmark and the tests: token F1 (LoCoMo-style), recall@k, sanitizer P/R."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence

STRUCTURED = ("SSN", "MRN", "DOB", "PHONE", "EMAIL", "ACCOUNT", "POLICY", "CREDIT_CARD", "IP", "URL")
ARTICLES = re.compile(r"\b(a|an|the|and)\b")


def normalize_answer(text: str) -> list[str]:
    """Lower-case, drop punctuation and articles, split: the SQuAD/LoCoMo normalization."""
    text = text.lower().replace(",", "")
    text = "".join(ch for ch in text if ch not in set(string.punctuation) - {"/", ".", "$"})
    text = ARTICLES.sub(" ", text)
    return [t.strip(".") for t in text.split() if t.strip(".")]


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction), normalize_answer(gold)
    common = Counter(pred) & Counter(ref)
    same = sum(common.values())
    if not pred or not ref or same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def recall_at_k(retrieved: Sequence[str], gold: Iterable[str], k: int = 5) -> float:
    gold = set(gold)
    return len(gold & set(retrieved[:k])) / len(gold) if gold else 0.0


def sanitizer_scores(rows: list[dict], detect) -> dict[str, dict[str, float]]:
    """Per gold type: recall = gold spans fully covered by detections (any kind: what matters for
    leakage); per detected kind: precision = detections overlapping a gold span."""
    hit, total, tp, found = Counter(), Counter(), Counter(), Counter()
    for row in rows:
        spans = detect(row["text"])  # [(start, end, kind)]
        for start, end, kind in row["spans"]:
            total[kind] += 1
            covered = set()
            for s, e, _ in spans:
                covered.update(range(max(s, start), min(e, end)))
            value_chars = {i for i in range(start, end) if row["text"][i].isalnum()}
            if value_chars <= covered:
                hit[kind] += 1
        for s, e, kind in spans:
            found[kind] += 1
            if any(s < ge and e > gs for gs, ge, _ in row["spans"]):
                tp[kind] += 1
    out = {k: {"recall": hit[k] / total[k], "support": total[k]} for k in sorted(total)}
    for k in sorted(found):
        out.setdefault(k, {})["precision"] = tp[k] / found[k]
        out[k]["detected"] = found[k]
    structured = [k for k in STRUCTURED if k in total]
    out["_structured"] = {"recall": sum(hit[k] for k in structured) / sum(total[k] for k in structured)}
    return out
