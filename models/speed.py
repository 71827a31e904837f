"""Prompt and generation speed of a chat model, timed from the outside (what a user waits for)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from models.base import GREEDY, ChatModel, Message, SamplingParams, StreamStats

T = TypeVar("T")

# A fixed prompt of a realistic size for a question with retrieved context (about 250 tokens).
BENCH_CONTEXT = (
    "Records: 2024-03-02 lab results: TSH 4.8 mIU/L, free T4 0.9 ng/dL. 2024-03-14 visit with the "
    "endocrinologist: levothyroxine raised from 50 to 75 micrograms daily, recheck TSH in six weeks. "
    "2024-04-30 lab results: TSH 2.1 mIU/L. 2024-05-06 message from the clinic: keep 75 micrograms, "
    "next visit in six months. 2024-06-11 dentist: cleaning, no cavities, next cleaning in December. "
    "2024-07-19 pharmacy: levothyroxine 75 micrograms, 90 tablets, three refills left. "
)


@dataclass(frozen=True)
class Run:
    prompt_tokens: int
    completion_tokens: int
    prompt_s: float  # call to first token: prompt processing plus one sampled token
    generation_s: float  # first token to last token


@dataclass(frozen=True)
class Speed:
    """Medians over runs."""

    prompt_tokens: int
    completion_tokens: int
    prompt_tps: float
    generation_tps: float
    runs: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def bench_messages(run: int) -> list[Message]:
    """The benchmark conversation; `run` goes first so no run reuses the previous run's KV cache."""
    return [
        Message("system", f"Session {run}. You answer questions about the user's records."),
        Message(
            "user", BENCH_CONTEXT * 2 + "\nQuestion: what dose of levothyroxine was settled on, and when?"
        ),
    ]


def timed(deltas: Iterable[T], count: Callable[[T], bool]) -> tuple[float, float, int]:
    """(seconds to the first counted delta, seconds from it to the last, deltas counted)."""
    start = time.perf_counter()
    first = last = None
    n = 0
    for delta in deltas:
        if count(delta):
            last = time.perf_counter()
            first = first or last
            n += 1
    end = last or time.perf_counter()
    return (first or end) - start, end - (first or end), n


def run_ours(model: ChatModel, run: int, max_tokens: int) -> Run:
    stats = StreamStats()
    params = _bench_params(max_tokens)
    stream = model.stream(bench_messages(run), params, stats=stats)
    prompt_s, gen_s, n = timed(stream, lambda d: bool(d.text))
    return Run(stats.prompt_tokens, n, prompt_s, gen_s)


def summarize(runs: list[Run]) -> Speed:
    return Speed(
        prompt_tokens=int(statistics.median(r.prompt_tokens for r in runs)),
        completion_tokens=int(statistics.median(r.completion_tokens for r in runs)),
        prompt_tps=statistics.median(r.prompt_tokens / r.prompt_s for r in runs),
        generation_tps=statistics.median(
            (r.completion_tokens - 1) / r.generation_s for r in runs if r.generation_s > 0
        )
        if any(r.generation_s > 0 for r in runs)
        else 0.0,
        runs=len(runs),
    )


def measure(model: ChatModel, *, runs: int = 3, max_tokens: int = 64) -> Speed:
    """Median prompt and generation tokens/s of `model` over `runs` fresh conversations."""
    run_ours(model, -1, 4)  # warm-up: first-call allocations are not the model's speed
    return summarize([run_ours(model, i, max_tokens) for i in range(runs)])


def _bench_params(max_tokens: int) -> SamplingParams:
    # Greedy, and no stop on EOS is possible here, so some replies end early: medians absorb it.
    return SamplingParams(**{**asdict(GREEDY), "max_tokens": max_tokens})
