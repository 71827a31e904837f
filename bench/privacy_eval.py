"""How private and how useful the fail-closed sanitizer is, on every evaluation set (issue 13).

Per set: private values leaked by kind (identifiers, person names, other details), the share of the
question's other words kept, and sanitizer latency; each with the patterns alone and with the private
vocabulary built from the set's records. On the corpus questions (eval/corpus/questions.jsonl, with
320 records in a real encrypted store): retrieval recall@5 of the raw question against the sanitized
question planned by the corpus plans (placeholders echoed by the planner, mapped back on the device).

    python bench/privacy_eval.py --json            # everything (about 3 minutes on 2 loaded cores)
    python bench/privacy_eval.py --no-recall       # leakage, words kept and latency only
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "eval")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import people  # noqa: E402

from assistant.pipeline.sanitizer import PLACEHOLDER_RE, Sanitizer, _analyzer  # noqa: E402
from assistant.privacy.names import zipf  # noqa: E402
from assistant.privacy.normalize import WORD, key  # noqa: E402
from assistant.privacy.phrases import PhraseIndex  # noqa: E402
from assistant.privacy.vocabulary import collect  # noqa: E402

CORPUS = ROOT / "eval" / "corpus"
ID_KINDS = {"SSN", "MRN", "ACCOUNT", "POLICY", "PHONE", "CREDIT_CARD", "EMAIL", "IP", "URL", "DOB"}
PERSONS = {people.IDENTITY["name"], people.IDENTITY["short_name"], *people.FAMILY.values(), *people.FRIENDS}
PERSONS |= {d[0] for d in people.DOCTORS.values()} | set(getattr(people, "COLLEAGUES", []))
UNKNOWN_TO_REMOTE = re.compile(
    r"\b(?:January|February|March|April|May|June|July|August|September|October|November|December|\d{4})\b"
)


def category(kind: str, value: str) -> str:
    """identifier | person | other: the three leakage targets of issue 13."""
    if kind.startswith("IDENTIFIER") or kind in ID_KINDS or any(c.isdigit() for c in value):
        return "identifier"
    return "person" if kind == "PERSON" else "other"


def tokens(text: str) -> list[str]:
    return WORD.findall(key(PLACEHOLDER_RE.sub(" ", text)))


def identifying(value: str, cat: str) -> set[str]:
    """The words of a value that would identify it: numbers, every part of a name, uncommon words."""
    out = set()
    for t in tokens(value):
        if any(c.isdigit() for c in t):
            if sum(c.isdigit() for c in t) >= 2 or len(t) >= 3:
                out.add(t)
        elif len(t) >= 3 and (cat == "person" or zipf(t) < 4.0):
            out.add(t)
    return out


def leaked(value: str, cat: str, sanitized: str) -> bool:
    words = set(tokens(sanitized))
    squeezed = "".join(tokens(sanitized))
    return bool(identifying(value, cat) & words) or "".join(tokens(value)) in squeezed


def kept_share(question: str, values: list[str], sanitized: str) -> tuple[int, int]:
    private = Counter(t for v in values for t in tokens(v))
    plain = Counter(tokens(question)) - private
    return sum((plain & Counter(tokens(sanitized))).values()), sum(plain.values())


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (CORPUS / name).open(encoding="utf-8")]


def labeled(name: str) -> list[tuple[str, list[tuple[str, str]]]]:
    return [(r["text"], [(r["text"][a:b], k) for a, b, k in r["spans"]]) for r in load(name)]


def corpus_questions() -> list[tuple[str, list[tuple[str, str]]]]:
    out = []
    for q in load("questions.jsonl"):
        present = [v for v in people.PLANTED if key(v) in key(q["question"])]
        out.append((q["question"], [(v, "PERSON" if v in PERSONS else "VALUE") for v in present]))
    return out


def score(rows: list[tuple[str, list[tuple[str, str]]]], vocabulary: PhraseIndex) -> dict:
    s = Sanitizer(vocabulary=vocabulary)
    s.sanitize("warm up")
    totals: Counter[str] = Counter()
    leaks: Counter[str] = Counter()
    examples: list[dict] = []
    kept = seen = 0
    ms = []
    for text, values in rows:
        s.map.__init__()  # one conversation per question: numbering starts again
        t0 = time.perf_counter()
        out = s.sanitize(text).text
        ms.append((time.perf_counter() - t0) * 1000)
        for value, kind in values:
            cat = category(kind, value)
            totals[cat] += 1
            if leaked(value, cat, out):
                leaks[cat] += 1
                if len(examples) < 12:
                    examples.append({"kind": kind, "value": value, "sent": out})
        k, n = kept_share(text, [v for v, _ in values], out)
        kept, seen = kept + k, seen + n
    return {
        "questions": len(rows),
        "values": dict(totals),
        "leaked": {c: leaks[c] for c in totals},
        "leaked_share": {c: round(leaks[c] / totals[c], 4) for c in totals if totals[c]},
        "words_kept": round(kept / seen, 4) if seen else None,
        "ms": {"median": round(statistics.median(ms), 1), "p90": round(sorted(ms)[int(0.9 * len(ms))], 1)},
        "leak_examples": examples,
    }


def vocabulary_of(texts: list[str]) -> PhraseIndex:
    items: set[tuple[str, str]] = set()
    for text in texts:
        items |= collect(text)
    return PhraseIndex(sorted(items))


def recall(vocabularies: dict[str, PhraseIndex], k: int) -> dict:
    """Recall@k: the raw question alone against what the session searches after sanitized planning."""
    from index_corpus import index_records, load_records
    from scoring import recall_at_k

    from assistant import wiring
    from assistant.config import Settings
    from assistant.pipeline.retrieval import retrieve

    home = Path(tempfile.mkdtemp(prefix="privacy-eval-"))
    settings = Settings(home=home)
    kdf = {"time_cost": 1, "memory_kib": 8192, "parallelism": 1}
    store = wiring.open_store(settings, wiring.create_keys(settings, "bench passphrase", kdf=kdf))
    embedder = wiring.embedder(settings)
    index_records(store, embedder, load_records())

    def hit(queries: list[str], gold: list[str]) -> float:
        return recall_at_k([h.id for h in retrieve(store, embedder, queries, k=k)], gold, k)

    questions = load("questions.jsonl")
    out: dict = {
        "k": k,
        "raw_question": round(statistics.mean(hit([q["question"]], q["gold_ids"]) for q in questions), 3),
    }
    for name, vocabulary in vocabularies.items():
        plan_only, both = [], []
        for q in questions:
            subs = planned(q, Sanitizer(vocabulary=vocabulary))
            plan_only.append(hit(subs, q["gold_ids"]))
            both.append(hit([q["question"], *subs], q["gold_ids"]))
        out[name] = {
            "sanitized_plan": round(statistics.mean(plan_only), 3),
            "question_and_sanitized_plan": round(statistics.mean(both), 3),
        }
        out[name]["ratio_to_raw"] = round(out[name]["question_and_sanitized_plan"] / out["raw_question"], 3)
    store.close()
    return out


def planned(q: dict, s: Sanitizer) -> list[str]:
    """The corpus plan, told only what the remote sees, its placeholders mapped back on the device."""
    sent = s.sanitize(q["question"]).text
    placeholders = " ".join(dict.fromkeys(m.group(0) for m in PLACEHOLDER_RE.finditer(sent)))
    subs = []
    for sub in q["plan"]["sub_queries"]:
        sub = sub.replace("{ph}", placeholders)
        sub = UNKNOWN_TO_REMOTE.sub(lambda m: m.group(0) if m.group(0) in sent else "", sub)
        subs.append(s.restore(" ".join(sub.split()) or sent))
    return subs


def run(with_recall: bool, k: int) -> dict:
    t0 = time.perf_counter()
    records = [r["text"] for r in load("records.jsonl")]
    adversarial = load("adversarial.jsonl")
    sets = {
        "adversarial": (
            [(r["text"], [tuple(v) for v in r["values"]]) for r in adversarial],
            [r["record"] for r in adversarial],
        ),
        "questions": (corpus_questions(), records),
        "sanitizer_sentences": (labeled("sanitizer_sentences.jsonl"), []),
        "sanitizer_heldout": (labeled("sanitizer_heldout.jsonl"), []),
    }
    out: dict = {"sets": {}}
    vocabularies = {}
    for name, (rows, texts) in sets.items():
        vocabularies[name] = vocabulary_of(texts) if texts else PhraseIndex()
        entry = {"patterns_only": score(rows, PhraseIndex())}
        if texts:
            entry["with_vocabulary"] = score(rows, vocabularies[name])
            entry["vocabulary_size"] = len(vocabularies[name])
        out["sets"][name] = entry
    nlp = _analyzer().nlp_engine
    questions = [t for rows, _ in sets.values() for t, _ in rows]
    base = []
    for text in questions:
        t = time.perf_counter()
        nlp.process_text(text, "en")
        base.append((time.perf_counter() - t) * 1000)
    out["spacy_only_ms_median"] = round(statistics.median(base), 1)
    if with_recall:
        out["recall_at_5"] = recall(
            {"patterns_only": PhraseIndex(), "with_vocabulary": vocabularies["questions"]}, k
        )
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--no-recall", action="store_true", help="skip the retrieval part (no embedder)")
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None, help="also write the result here")
    args = ap.parse_args()
    result = run(not args.no_recall, args.k)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(result, indent=2, ensure_ascii=False) if args.json else result)


if __name__ == "__main__":
    main()
