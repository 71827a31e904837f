"""Evaluate the Socratic pipeline on the synthetic corpus (eval/corpus), end to end on this machine.

A real encrypted store holds the 320 records (MiniLM embeddings); a real HTTP server on 127.0.0.1
stands in for the remote model and answers each sanitized question with the plan written for it in
eval/corpus/questions.jsonl (placeholders it receives are echoed into the sub-queries; months and years
it was not told are dropped). Reports retrieval recall@5 (question / sub-queries / both), answer
token-F1 of the local model, leakage, sanitizer latency, and sanitizer precision/recall per type.

    python bench/pipeline_eval.py --json            # everything; answers for the first 30 questions
    python bench/pipeline_eval.py --answers 0       # retrieval, leakage and sanitizer only
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "eval")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from index_corpus import index_records, load_questions, load_records  # noqa: E402
from people import PLANTED  # noqa: E402
from scoring import recall_at_k, sanitizer_scores, token_f1  # noqa: E402

from assistant.config import Settings  # noqa: E402
from assistant.pipeline.answer import answer_messages  # noqa: E402
from assistant.pipeline.events import PlanReady  # noqa: E402
from assistant.pipeline.retrieval import retrieve  # noqa: E402
from assistant.pipeline.sanitizer import PLACEHOLDER_RE, Sanitizer  # noqa: E402
from assistant.pipeline.session import AssistantSession  # noqa: E402
from models.base import GREEDY, SamplingParams  # noqa: E402
from tests.remote_standin import RecordedRequest, RemoteStandin, Reply, plan_reply  # noqa: E402

FAST_KDF = {"time_cost": 1, "memory_kib": 8192, "parallelism": 1}
UNKNOWN_TO_REMOTE = re.compile(
    r"\b(?:January|February|March|April|May|June|July|August|September|October|November|December|\d{4})\b"
)


class CorpusPlanner:
    """The stand-in's responder: the plan written for the question being asked, told only what it sees."""

    def __init__(self) -> None:
        self.current: dict | None = None

    def __call__(self, request: RecordedRequest) -> Reply:
        text = request.user_text()
        placeholders = " ".join(dict.fromkeys(m.group(0) for m in PLACEHOLDER_RE.finditer(text)))
        plan = (self.current or {}).get("plan") or {"guidance": "", "sub_queries": [text]}
        queries = []
        for q in plan["sub_queries"]:
            q = q.replace("{ph}", placeholders)
            q = UNKNOWN_TO_REMOTE.sub(lambda m: m.group(0) if m.group(0) in text else "", q)
            queries.append(" ".join(q.split()) or text[:100])
        return plan_reply(plan["guidance"], queries)


def leakage(bodies: list[str]) -> tuple[float, list[str]]:
    found = [v for v in PLANTED if any(v.casefold() in b.casefold() for b in bodies)]
    return len(found) / len(PLANTED), found


def sanitizer_section() -> dict:
    """Labeled set (used while tuning the recognizers) and the held-out set (never used for tuning)."""
    s = Sanitizer()
    s.detect("warm up")
    out = {}
    for name in ("sanitizer_sentences", "sanitizer_heldout"):
        rows = [json.loads(line) for line in (ROOT / f"eval/corpus/{name}.jsonl").open()]
        scores = sanitizer_scores(rows, lambda t: [(d.start, d.end, d.kind) for d in s.detect(t)])
        out[name] = {"sentences": len(rows), "per_type": scores}
    return out


def log(out: dict, path: Path | None, msg: str) -> None:
    """Progress on stderr, and the partial result on disk (a long run that is cut short still reports)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)
    if path is not None:
        path.write_text(json.dumps(out, indent=2))


def run(answers: int, k: int, path: Path | None = None) -> dict:
    from assistant import wiring
    from assistant.wiring import open_store

    out: dict = {"k": k}
    home = Path(tempfile.mkdtemp(prefix="pipeline-eval-"))
    settings0 = Settings(home=home)
    ring = wiring.create_keys(settings0, "bench passphrase", kdf=FAST_KDF)
    store = open_store(settings0, ring)
    embedder = wiring.embedder(settings0)
    t0 = time.perf_counter()
    out["records"] = index_records(store, embedder, load_records())
    out["index_s"] = round(time.perf_counter() - t0, 1)
    questions = load_questions()
    out["questions"] = len(questions)
    log(out, path, f"indexed {out['records']} records in {out['index_s']} s")

    latencies = []
    timing = Sanitizer()
    timing.detect("warm up")
    for q in questions:
        t = time.perf_counter()
        timing.sanitize(q["question"])
        latencies.append((time.perf_counter() - t) * 1000)
    # baseline in the same run: spaCy's pipeline alone on the same questions (the load here varies)
    from assistant.pipeline.sanitizer import _analyzer

    nlp = _analyzer().nlp_engine
    spacy_ms = []
    for q in questions:
        t = time.perf_counter()
        nlp.process_text(q["question"], "en")
        spacy_ms.append((time.perf_counter() - t) * 1000)
    out["spacy_only_ms"] = {"median": round(statistics.median(spacy_ms), 1)}
    out["sanitizer_ms"] = {
        "median": round(statistics.median(latencies), 1),
        "p90": round(sorted(latencies)[int(0.9 * len(latencies))], 1),
    }

    log(out, path, "sanitizer timed")
    responder = CorpusPlanner()
    plans: dict[str, tuple[str, tuple[str, ...]]] = {}
    with RemoteStandin(responder=responder) as remote:
        settings = Settings(home=home, remote_url=remote.url)
        for q in questions:
            responder.current = q
            session = AssistantSession(settings, keyring=ring, store=store, embedder=embedder)
            events = list(session.plan(q["question"]))
            plan = events[-1].plan if isinstance(events[-1], PlanReady) else None
            assert plan is not None and plan.remote, f"{q['id']}: remote plan not used"
            plans[q["id"]] = (plan.guidance, plan.sub_queries)
        bodies = [r.body.decode() for r in remote.requests]
    out["requests"] = len(bodies)
    frac, found = leakage(bodies)
    out["leakage"] = {"fraction_of_planted_values": frac, "planted_values": len(PLANTED), "found": found}

    log(out, path, f"{len(bodies)} plans")
    recall = {"question": [], "sub_queries": [], "both": []}
    retrieved_both: dict[str, list] = {}
    for q in questions:
        subs = list(plans[q["id"]][1])
        for name, queries in (
            ("question", [q["question"]]),
            ("sub_queries", subs),
            ("both", [q["question"], *subs]),
        ):
            hits = retrieve(store, embedder, queries, k=k)
            recall[name].append(recall_at_k([h.id for h in hits], q["gold_ids"], k))
            if name == "both":
                retrieved_both[q["id"]] = hits
    out["recall_at_5"] = {name: round(statistics.mean(v), 3) for name, v in recall.items()}

    log(out, path, "retrieval scored")
    if answers:
        from assistant.wiring import load_model

        model = load_model(settings0)
        params = SamplingParams(**{**GREEDY.__dict__, "max_tokens": 48})
        f1s, samples = [], []
        t0 = time.perf_counter()
        for q in questions[:answers]:
            msgs = answer_messages(q["question"], plans[q["id"]][0], retrieved_both[q["id"]])
            text = model.complete(msgs, params).text.strip()
            f1s.append(token_f1(text, q["answer"]))
            log(out, path, f"answer {len(f1s)}/{answers}: f1 {f1s[-1]:.2f}")
            if len(samples) < 5:
                samples.append({"q": q["question"], "gold": q["answer"], "answer": text})
        out["answers"] = {
            "model": model.name,
            "n": len(f1s),
            "token_f1": round(statistics.mean(f1s), 3),
            "s_per_answer": round((time.perf_counter() - t0) / len(f1s), 2),
            "samples": samples,
        }
        model.close()
    store.close()
    out["sanitizer"] = sanitizer_section()
    log(out, path, "done")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--answers", type=int, default=30, help="questions to answer with the local model")
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None, help="also write the (partial) result here")
    args = ap.parse_args()
    result = run(args.answers, args.k, args.out)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"recall@{args.k}: {result['recall_at_5']}")
    print(f"leakage: {result['leakage']['fraction_of_planted_values']}  sanitizer: {result['sanitizer_ms']}")
    if "answers" in result:
        print(
            f"answer token-F1 ({result['answers']['model']}, n={result['answers']['n']}): "
            f"{result['answers']['token_f1']}"
        )


if __name__ == "__main__":
    main()
