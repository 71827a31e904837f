"""Answer latency per stage, before and after issue 19, on the evaluation corpus (eval/corpus).

"before" is the older pipeline, reproduced by settings: whole records in the prompt
(ASSISTANT_CONTEXT_TOKENS=0), a local plan for every question (ASSISTANT_LOCAL_PLAN=always) and, in a
cold `ask`, the model, keyring and embedder loaded one after the other. "after" is the default. Both
run in the same process (warm turns alternate question by question) so machine load hits both alike.

    python bench/latency.py --json                       # context, warm turns, cold asks
    python bench/latency.py --json --plan-eval 136       # also: does local planning help, per kind?
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "eval")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from index_corpus import index_records, load_questions, load_records  # noqa: E402

from assistant.config import Settings  # noqa: E402
from models.base import StreamStats  # noqa: E402

PASS = "latency bench"
FAST_KDF = {"time_cost": 1, "memory_kib": 8192, "parallelism": 1}
VARIANTS = {"before": {"context_tokens": 0, "local_plan": "always"}, "after": {}}
MAX_TOKENS = 32
BUDGETS = (80, 120, 140, 160, 180, 200, 240)
CONVERSATIONS = ROOT / "eval" / "corpus" / "conversations"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def stats_of(values: list[float]) -> dict[str, float]:
    s = sorted(values)
    return {"median": round(statistics.median(s), 3), "p90": round(s[min(len(s) - 1, int(0.9 * len(s)))], 3)}


def record_stream_stats(rec: dict[str, Any]) -> None:
    """Every llama.cpp stream fills a StreamStats the bench can read (the answer's is the last)."""
    from models.llamacpp import LlamaCppModel

    original = LlamaCppModel.stream

    def stream(self: Any, messages: Any, params: Any = None, **kw: Any) -> Any:
        kw["stats"] = kw.get("stats") or StreamStats()
        rec["stats"] = kw["stats"]
        return original(self, messages, params, **kw)

    LlamaCppModel.stream = stream  # type: ignore[method-assign]


def timed_store(store: Any, rec: dict[str, Any]) -> None:
    search = store.search

    def timed(*args: Any, **kw: Any) -> Any:
        start = time.perf_counter()
        try:
            return search(*args, **kw)
        finally:
            rec["store_search_s"] = time.perf_counter() - start

    store.search = timed


def one_turn(session: Any, question: str, rec: dict[str, Any], t0: float) -> dict[str, float]:
    """Run one ask() and return its stage times (seconds from t0 where marked *_at)."""
    from assistant.pipeline.events import Done
    from models.base import TokenDelta

    first = done = None
    for event in session.ask(question, use_remote=False):
        if isinstance(event, TokenDelta) and event.text and first is None:
            first = time.perf_counter()
        elif isinstance(event, Done):
            done = time.perf_counter()
    st: StreamStats = rec["stats"]
    first = first or done or time.perf_counter()
    gen_s = max((done or first) - first, 1e-6)
    search = session.timings.get("search", 0.0)
    staged = session.timings.get("plan", 0.0) + search + st.extra.get("prompt_eval_s", 0.0)
    return {
        # what no stage above accounts for: in a cold ask mostly waiting for the embedder to load
        "rest_s": max(first - t0 - staged - rec.get("startup_s", 0.0), 0.0),
        "plan_s": session.timings.get("plan", 0.0),
        "search_s": rec.get("store_search_s", 0.0),
        "embed_s": max(search - rec.get("store_search_s", 0.0), 0.0),
        "prompt_s": st.extra.get("prompt_eval_s", 0.0),
        "first_token_s": first - t0,
        "tokens_per_s": max(st.completion_tokens - 1, 0) / gen_s,
        "prompt_tokens": st.prompt_tokens,
        "evaluated_prompt_tokens": st.extra.get("evaluated_prompt_tokens", st.prompt_tokens),
    }


def setup(home: Path) -> Any:
    from assistant import wiring
    from encrypted_store import lexical

    settings = Settings(home=home)
    ring = wiring.create_keys(settings, PASS, kdf=FAST_KDF)
    embedder = wiring.embedder(settings)
    store = wiring.open_store(settings, ring)
    records = load_records()
    index_records(store, embedder, records)
    for r in records:  # each record's sealed term counts, as the indexer writes them (hybrid search)
        store.manifest_put(r["id"], {lexical.LEX_KEY: lexical.doc_value([(r["id"], r["text"])])})
    return ring, embedder, store


def conversation_store(embedder: Any) -> tuple[Any, list[dict]]:
    """eval/corpus/conversations through the real indexer: long records, a vocabulary of their own."""
    from assistant import wiring
    from assistant.ingest.indexer import index_paths

    settings = Settings(home=Path(tempfile.mkdtemp(prefix="latency-conv-")))
    ring = wiring.create_keys(settings, PASS, kdf=FAST_KDF)
    store = wiring.open_store(settings, ring)
    index_paths([str(CONVERSATIONS / "sessions")], store, embedder, ring)
    store.flush()
    return store, [json.loads(line) for line in (CONVERSATIONS / "questions.jsonl").open()]


def picked(questions: list[dict], n: int) -> list[dict]:
    step = max(len(questions) // n, 1)
    return questions[::step][:n]


def context_section(store: Any, embedder: Any, model: Any, questions: list[dict]) -> dict:
    """Gold answer inside the full vs the compacted context (hybrid top 5, as a session retrieves);
    prompt tokens of a first turn, before and after."""
    from assistant.pipeline.answer import answer_messages, compact_messages, record_block
    from assistant.pipeline.fusion import FusionParams
    from assistant.pipeline.passages import compact_context
    from assistant.pipeline.retrieval import retrieve
    from encrypted_store import lexical

    def norm(text: str) -> str:
        return " ".join(text.split()).casefold()

    index = lexical.load(store)
    out: dict[str, Any] = {"questions": len(questions)}
    retrieved = {
        q["id"]: retrieve(store, embedder, [q["question"]], k=5, lexicon=index, fusion=FusionParams())
        for q in questions
    }
    in_full = [q for q in questions if norm(q["answer"]) in norm(record_block(retrieved[q["id"]]))]
    out["gold_in_full_context"] = len(in_full)
    for budget in BUDGETS:
        kept = 0
        for q in in_full:
            passages = compact_context(
                q["question"],
                retrieved[q["id"]],
                budget=budget,
                count_tokens=model.count_tokens,
                weigh=index.idf,
            )
            kept += norm(q["answer"]) in norm("\n".join(p.render() for p in passages))
        out[f"gold_kept_at_{budget}"] = round(kept / max(len(in_full), 1), 3)
    old = [model.prompt_tokens(answer_messages(q["question"], "", retrieved[q["id"]])) for q in questions]
    budget = Settings().context_tokens
    new = [
        model.prompt_tokens(
            compact_messages(
                q["question"],
                "",
                retrieved[q["id"]],
                budget=budget,
                count_tokens=model.count_tokens,
                weigh=index.idf,
            )[0]
        )
        for q in questions
    ]
    out["prompt_tokens_first_turn"] = {"before": stats_of(old), "after": stats_of(new), "budget": budget}
    return out


def warm_section(ring: Any, embedder: Any, store: Any, home: Path, questions: list[dict]) -> dict:
    from assistant.pipeline.session import AssistantSession
    from assistant.wiring import load_model
    from models.base import GREEDY, SamplingParams

    rec: dict[str, Any] = {}
    record_stream_stats(rec)
    timed_store(store, rec)
    params = SamplingParams(**{**GREEDY.__dict__, "max_tokens": MAX_TOKENS})
    sessions = {}
    for name, over in VARIANTS.items():
        settings = Settings(home=home, threads=2, **over)
        sessions[name] = AssistantSession(
            settings, keyring=ring, model=load_model(settings), store=store, embedder=embedder, params=params
        )
    rows: dict[str, list[dict]] = defaultdict(list)
    for i, q in enumerate(questions):
        for name, session in sessions.items():
            start = time.perf_counter()
            session.sanitizer.sanitize(q["question"])  # the remote path's first step, timed alone
            sanitize_s = time.perf_counter() - start
            row = one_turn(session, q["question"], rec, time.perf_counter())
            rows[name].append({"sanitize_s": sanitize_s, **row})
        log(
            f"warm turn {i + 1}/{len(questions)}: "
            + ", ".join(f"{n} {rows[n][-1]['first_token_s']:.2f} s" for n in rows)
        )
    return summarise(rows)


def summarise(rows: dict[str, list[dict]]) -> dict:
    out: dict[str, Any] = {}
    for name, items in rows.items():
        out[name] = {key: stats_of([r[key] for r in items]) for key in items[0]}
    b, a = out["before"], out["after"]
    out["ratio_after_over_before"] = {
        k: round(a[k]["median"] / b[k]["median"], 3)
        for k in ("first_token_s", "prompt_tokens")
        if b[k]["median"]
    }
    return out


def cold_section(home: Path, questions: list[dict]) -> dict:
    rows: dict[str, list[dict]] = defaultdict(list)
    env = {**os.environ, "ASSISTANT_HOME": str(home), "ASSISTANT_PASSPHRASE": PASS, "ASSISTANT_THREADS": "2"}
    env["PYTHONPATH"] = str(ROOT)
    for i, q in enumerate(questions):
        for name in VARIANTS:
            spawn = time.time()
            done = subprocess.run(
                [sys.executable, __file__, "--cold-one", name, q["question"], "--spawn", str(spawn)],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if done.returncode != 0:
                raise RuntimeError(done.stderr[-2000:])
            rows[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
        log(
            f"cold ask {i + 1}/{len(questions)}: "
            + ", ".join(f"{n} {rows[n][-1]['first_token_s']:.2f} s" for n in rows)
        )
    return summarise(rows)


def cold_one(variant: str, question: str, spawn: float) -> dict:
    """One `ask` in a fresh process, as ask_cmd runs it (before: loads one after the other)."""
    from assistant.cli.session import open_keyring
    from assistant.pipeline.session import AssistantSession
    from models.base import GREEDY, SamplingParams

    rec: dict[str, Any] = {}
    record_stream_stats(rec)
    settings = Settings(**VARIANTS[variant])  # type: ignore[arg-type]
    params = SamplingParams(**{**GREEDY.__dict__, "max_tokens": MAX_TOKENS})
    if variant == "before":
        from assistant.wiring import load_model

        model = load_model(settings)
        session = AssistantSession(settings, keyring=open_keyring(settings), model=model, params=params)
        store = session.store
    else:  # as `assistant ask` runs it: the core's preload, then the passphrase
        from assistant.core import AssistantCore

        session = AssistantCore(settings, params=params)
        session.preload()
        session.keyring = open_keyring(settings)
        store = session.store()
    timed_store(store, rec)
    ready = time.time()
    rec["startup_s"] = ready - spawn
    row = one_turn(session, question, rec, time.perf_counter() - (ready - spawn))
    return {"startup_s": ready - spawn, **row}


def plan_section(store: Any, embedder: Any, model: Any, questions: list[dict]) -> dict:
    """recall@5 per question kind (the gold record's kind): question alone vs question + local plan."""
    from assistant.pipeline.plan import PlanError, local_plan
    from assistant.pipeline.retrieval import retrieve

    kinds = {r["id"]: r["kind"] for r in load_records()}
    hits: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    plan_s = []
    for i, q in enumerate(questions):
        start = time.perf_counter()
        try:
            _, subs = local_plan(model, q["question"])
        except PlanError:
            subs = ()
        plan_s.append(time.perf_counter() - start)
        kind = kinds[q["gold_ids"][0]]
        for name, queries in (("question", [q["question"]]), ("question+local_plan", [q["question"], *subs])):
            found = {h.id for h in retrieve(store, embedder, queries, k=5)}
            hits[kind][name].append(float(bool(found & set(q["gold_ids"]))))
            hits["all"][name].append(hits[kind][name][-1])
        if (i + 1) % 10 == 0:
            log(f"plan eval {i + 1}/{len(questions)}")
    return {
        "plan_s": stats_of(plan_s),
        "recall_at_5": {
            kind: {name: round(statistics.mean(v), 3) for name, v in d.items()} | {"n": len(d["question"])}
            for kind, d in hits.items()
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--warm", type=int, default=24, help="questions asked as warm chat turns")
    ap.add_argument("--cold", type=int, default=20, help="questions asked as cold `ask` processes")
    ap.add_argument("--plan-eval", type=int, default=0, help="questions for the local-planning recall check")
    ap.add_argument(
        "--conversations", action="store_true", help="also measure the context on eval/corpus/conversations"
    )
    ap.add_argument("--out", type=Path, default=None, help="also write the result here")
    ap.add_argument("--cold-one", nargs=2, metavar=("VARIANT", "QUESTION"), help=argparse.SUPPRESS)
    ap.add_argument("--spawn", type=float, default=0.0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.cold_one:
        print(json.dumps(cold_one(args.cold_one[0], args.cold_one[1], args.spawn)))
        return
    from assistant.wiring import load_model

    home = Path(tempfile.mkdtemp(prefix="latency-bench-"))
    ring, embedder, store = setup(home)
    questions = load_questions()
    model = load_model(Settings(home=home, threads=2))
    out: dict[str, Any] = {
        "machine": f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start"
    }
    out["model"] = model.name
    out["context"] = context_section(store, embedder, model, questions)
    log(f"context: {out['context']}")
    if args.conversations:
        conv_store, conv_questions = conversation_store(embedder)
        out["context_conversations"] = context_section(conv_store, embedder, model, conv_questions)
        conv_store.close()
        log(f"context, conversations: {out['context_conversations']}")
    if args.plan_eval:
        out["local_plan"] = plan_section(store, embedder, model, picked(questions, args.plan_eval))
        log(f"plan: {out['local_plan']}")
    model.close()
    if args.warm:
        out["warm_turns"] = {
            "n": args.warm,
            **warm_section(ring, embedder, store, home, picked(questions, args.warm)),
        }
    store.close()
    if args.cold:
        out["cold_ask"] = {"n": args.cold, **cold_section(home, picked(questions, args.cold))}
    out["load_average_at_end"] = round(os.getloadavg()[0], 1)
    text = json.dumps(out, indent=2)
    if args.out:
        args.out.write_text(text)
    print(text if args.json else json.dumps(out.get("warm_turns", {}), indent=2))


if __name__ == "__main__":
    main()
