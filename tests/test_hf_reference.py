"""The transformers reference of PagedEviction: exact when nothing is evicted, bounded when it is."""

import numpy as np
import pytest
import torch

from models.eviction import EvictionTracker, make_policy
from models.eviction.aligned import aligned_policy, aligned_prefill
from models.hf_reference import EvictingSession


@pytest.fixture(scope="module")
def tiny_llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=256,
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=64,
        max_position_embeddings=1024,
    )
    return LlamaForCausalLM(config).eval()


def test_aligned_prefill_drops_whole_blocks_only() -> None:
    policy = make_policy("paged", budget=64, block_size=16)
    assert aligned_policy(policy, 60).budget == 64
    assert aligned_policy(policy, 100).budget == 68  # 32 dropped, not 36
    tracker = EvictionTracker(policy)
    dropped = aligned_prefill(tracker, np.random.default_rng(0).random(100))
    assert len(dropped) == 32 and len(tracker.positions) == 68
    assert tracker.positions[:16] == list(range(16)) and tracker.positions[-16:] == list(range(84, 100))


def test_budget_above_length_is_identical_to_plain_greedy(tiny_llama) -> None:
    prompt = list(range(3, 43))
    plain = tiny_llama.generate(
        torch.tensor([prompt]), max_new_tokens=30, do_sample=False, min_new_tokens=30
    )[0, len(prompt) :].tolist()
    session = EvictingSession(tiny_llama, make_policy("paged", budget=128, block_size=16))
    assert session.generate(prompt, 30) == plain
    assert session.kept_positions == list(range(len(prompt) + 29))
    assert session.evictions == []


@pytest.mark.slow
@pytest.mark.parametrize("method", ["paged", "inverse_key", "streaming"])
def test_blocks_stay_within_budget_and_change_the_output(tiny_llama, method) -> None:
    prompt = [int(t) for t in np.random.default_rng(1).integers(3, 250, 90)]
    policy = make_policy(method, budget=48, block_size=16)
    session = EvictingSession(tiny_llama, policy)
    out = session.generate(prompt, 60)
    full = EvictingSession(tiny_llama).generate(prompt, 60)
    assert session.max_blocks <= 48 // 16 + 1
    assert session.kv_tokens <= 48 + 16
    kept = session.kept_positions
    assert kept == sorted(kept) and kept[:16] == list(range(16))
    assert len(kept) == session.kv_tokens
    assert all(len(gone) % 16 == 0 for gone in session.evictions)
    assert out != full  # eviction had an effect: the check above is not vacuous
    if method == "streaming":
        assert kept[16:] == list(range(kept[16], kept[-1] + 1))  # sinks + one recent window
