"""KV-cache eviction benchmark: accuracy of PagedEviction vs StreamingLLM, inverse key norm and the full
cache on long-context tasks, plus vLLM's KV memory per sequence and decode speed with and without it.

Accuracy runs on the transformers reference (`models.hf_reference`, the same policy the vLLM tests
check token for token) because each vLLM engine fixes one budget and takes minutes to start here;
memory and speed run on vLLM itself. Model: the bundled SmolLM2-135M GGUF converted to HF format.

Run in .venv-vllm:  .venv-vllm/bin/python bench/kv_eviction.py --json [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"
BLOCK = 32
METHODS = ("paged", "inverse_key", "streaming")
FRACTIONS = (0.25, 0.5)  # budgets as a share of the prompt; the full cache is the 100% case
FILLER = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. "


def model_dir() -> Path:
    from models.catalog import bundled_path
    from models.gguf_to_hf import convert

    return convert(bundled_path(), OUT / "smollm2-135m-hf")


def chat_ids(tok: Any, text: str) -> list[int]:
    rendered = tok.apply_chat_template(
        [{"role": "user", "content": text}], add_generation_prompt=True, tokenize=False
    )
    return list(tok.encode(rendered, add_special_tokens=False))


def passkey_tasks(tok: Any, context: int, depths: list[float], trials: int) -> list[dict[str, Any]]:
    """Passkey retrieval (Mohtashami & Jaggi, 2023): a 5-digit key hidden at a depth of filler text."""
    rng = random.Random(0)
    reps = max(1, context // max(1, len(tok.encode(FILLER))))
    tasks = []
    for depth in depths:
        for _ in range(trials):
            key = str(rng.randint(10000, 99999))
            at = int(reps * depth)
            body = (
                FILLER * at
                + f"The pass key is {key}. Remember it. {key} is the pass key. "
                + FILLER * (reps - at)
            )
            text = "There is a pass key hidden in this text. Find it.\n" + body + "\nWhat is the pass key?"
            tasks.append({"task": f"passkey@{depth:.0%}", "ids": chat_ids(tok, text), "answer": key})
    return tasks


def corpus_tasks(tok: Any, context: int, limit: int) -> list[dict[str, Any]]:
    """Questions over the evaluation corpus (ACI-BENCH transcripts): the patient's stated age.

    Transcripts come from the shared sample next to the project, else the three the tests ship.
    """
    sources = [ROOT.parent / "shared/data/aci-bench/valid.json", ROOT / "tests/fixtures/aci/cases.json"]
    path = next((p for p in sources if p.is_file()), None)
    if path is None:
        return []
    tasks = []
    for enc in json.loads(path.read_text())["data"]:
        match = re.search(r"\b(\d{2}) ?-?year-?old\b", enc["src"])
        if not match:
            continue
        src = tok.decode(tok.encode(enc["src"], add_special_tokens=False)[:context])
        if match.group(0) not in src:
            continue
        text = "Visit transcript:\n" + src + "\n\nQuestion: How old is the patient? Answer with the number."
        tasks.append({"task": "corpus-age", "ids": chat_ids(tok, text), "answer": match.group(1)})
        if len(tasks) >= limit:
            break
    return tasks


def accuracy(mdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from models.eviction import make_policy
    from models.hf_reference import EvictingSession

    torch.set_num_threads(args.threads or max(1, os.cpu_count() or 1))
    tok = AutoTokenizer.from_pretrained(mdir)
    hf = AutoModelForCausalLM.from_pretrained(mdir, dtype=torch.float32).eval()
    tasks = passkey_tasks(tok, args.context, [0.1, 0.5, 0.9], args.trials)
    tasks += corpus_tasks(tok, args.context, args.trials * 2)
    rows: dict[str, dict[str, list[int]]] = {}
    for task in tasks:
        n = len(task["ids"])
        configs: list[tuple[str, Any]] = [("full", None)]
        for frac in FRACTIONS:
            budget = block_budget(n, frac)
            configs += [(f"{m}@{frac:.0%}", make_policy(m, budget, BLOCK)) for m in METHODS]
        for label, policy in configs:
            out = EvictingSession(hf, policy).generate(task["ids"], 12)
            hit = int(task["answer"] in tok.decode(out))
            rows.setdefault(label, {}).setdefault(task["task"], []).append(hit)
            print(f"{task['task']} n={n} {label}: {hit}", file=sys.stderr, flush=True)
    return {
        label: {t: round(sum(v) / len(v), 3) for t, v in by_task.items()}
        | {"n": sum(map(len, by_task.values()))}
        for label, by_task in rows.items()
    }


def block_budget(tokens: int, fraction: float) -> int:
    """A share of the prompt in whole blocks, at least two (the first block and the newest are kept)."""
    return max(2 * BLOCK, int(tokens * fraction) // BLOCK * BLOCK)


def kv_held(log_dir: Path, per_token_bytes: int) -> dict[str, Any]:
    """KV blocks a sequence held, from the scheduler's log: at the prefill step (the whole prompt is
    computed before eviction at prefill can drop any of it) and at most during decode."""
    from models.vllm_eviction.config import read_events

    held = [e for e in read_events(log_dir, "scheduler") if e["event"] == "blocks"]
    peak = max((e["held"] for e in held), default=0)
    decode = max((e["held"] for e in held if e["computed"] > e["prompt"]), default=0)
    return {
        "kv_blocks_prefill_peak": peak,
        "kv_blocks_per_seq": decode,
        "kv_mib_per_seq": round(decode * BLOCK * per_token_bytes / 2**20, 2),
    }


def vllm_runs(mdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    from transformers import AutoConfig, AutoTokenizer
    from vllm import LLM, SamplingParams

    from models.vllm_eviction import engine_kwargs

    tok = AutoTokenizer.from_pretrained(mdir)
    cfg = AutoConfig.from_pretrained(mdir)
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    per_token = 2 * cfg.num_hidden_layers * cfg.num_key_value_heads * head_dim * 2  # K and V, bf16
    prompt = passkey_tasks(tok, args.context, [0.5], 1)[0]["ids"]
    results: dict[str, Any] = {"prompt_tokens": len(prompt), "new_tokens": args.new_tokens}
    runs: list[tuple[str, int | None]] = [("full", None)]
    for frac in FRACTIONS:
        budget = block_budget(len(prompt), frac)
        runs.append((f"paged@{frac:.0%} (budget {budget})", budget))
    for label, b in runs:
        log_dir = OUT / f"vllm-log-{int(time.time() * 1000)}"
        kw = engine_kwargs(b, "paged", BLOCK, log_dir=str(log_dir))
        llm = LLM(model=str(mdir), enforce_eager=True, dtype="bfloat16", max_model_len=2048, seed=0, **kw)
        speeds = []
        for _ in range(args.repeats):
            times = {}
            for m in (1, args.new_tokens):
                sp = SamplingParams(temperature=0, max_tokens=m, ignore_eos=True, detokenize=False)
                t = time.perf_counter()
                llm.generate([{"prompt_token_ids": prompt}], sp, use_tqdm=False)
                times[m] = time.perf_counter() - t
            speeds.append((args.new_tokens - 1) / (times[args.new_tokens] - times[1]))
        results[label] = {
            "decode_tok_s_median": round(statistics.median(speeds), 1),
            "decode_tok_s_runs": [round(s, 1) for s in speeds],
            **kv_held(log_dir, per_token),
        }
        llm.llm_engine.engine_core.shutdown()
        del llm
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="fewer trials and tokens")
    parser.add_argument("--context", type=int, default=1024, help="approximate prompt tokens")
    parser.add_argument("--skip-vllm", action="store_true", help="accuracy only (no vLLM engine)")
    parser.add_argument("--skip-accuracy", action="store_true", help="vLLM memory and speed only")
    parser.add_argument("--threads", type=int, default=None, help="torch threads for the accuracy part")
    args = parser.parse_args()
    args.trials = 1 if args.quick else 3
    args.repeats = 1 if args.quick else 3
    args.new_tokens = 64 if args.quick else 256
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")  # stdout is for the report
    os.environ.setdefault("VLLM_USE_V2_MODEL_RUNNER", "0")
    mdir = model_dir()
    report: dict[str, Any] = {"model": "SmolLM2-135M-Instruct (GGUF Q4_1 -> HF)", "block_size": BLOCK}
    if not args.skip_accuracy:
        t = time.time()
        report["accuracy"] = accuracy(mdir, args)
        report["accuracy_s"] = round(time.time() - t, 1)
    if not args.skip_vllm:
        report["vllm"] = vllm_runs(mdir, args)
    print(json.dumps(report, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
