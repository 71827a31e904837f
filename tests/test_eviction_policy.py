"""The PagedEviction policy on plain arrays: what it keeps at prefill and which block it evicts."""

import numpy as np
import pytest

from models.eviction import EvictionTracker, inverse_key_norm, make_policy, token_scores, vk_ratio
from models.eviction.baselines import make_tracker


def test_vk_ratio_is_the_papers_definition() -> None:
    k = np.array([[[2.0, 1.0]], [[4.0, 1.0]]])  # (layers=2, heads=1, tokens=2)
    v = np.array([[[1.0, 3.0]], [[2.0, 1.0]]])
    np.testing.assert_allclose(vk_ratio(k, v), [0.5, 2.0])
    np.testing.assert_allclose(inverse_key_norm(k, v), [0.375, 1.0])
    assert token_scores("streaming", k, v).tolist() == [0.0, 0.0]


def test_prefill_keeps_sink_and_last_block_and_best_middle() -> None:
    policy = make_policy("paged", budget=8, block_size=2)
    scores = np.zeros(20)
    scores[[5, 9, 13, 14]] = [3.0, 1.0, 2.0, 4.0]
    kept = policy.prefill_keep(scores).tolist()
    assert kept == [0, 1, 5, 9, 13, 14, 18, 19]


def test_streaming_prefill_keeps_sink_and_recent_window() -> None:
    policy = make_policy("streaming", budget=6, block_size=2)
    assert policy.prefill_keep(np.arange(10.0)).tolist() == [0, 1, 6, 7, 8, 9]


def test_short_prompt_is_kept_whole() -> None:
    assert make_policy("paged", 8, 2).prefill_keep(np.ones(5)).tolist() == [0, 1, 2, 3, 4]


def test_decode_evicts_lowest_mean_block_never_first_or_newest() -> None:
    policy = make_policy("paged", budget=6, block_size=2)
    tracker = EvictionTracker(policy)
    assert tracker.prefill(np.array([0.0, 0.0, 5.0, 5.0, 1.0, 1.0])) == []
    assert tracker.append(9.0) == []
    # the newest block (positions 6, 7) fills while over budget: block [4, 5] has the lowest mean
    assert tracker.append(0.0) == [4, 5]
    assert tracker.positions == [0, 1, 2, 3, 6, 7]
    assert tracker.evicted == 2


def test_blocks_stay_within_budget_over_a_long_generation() -> None:
    rng = np.random.default_rng(1)
    for method in ("paged", "inverse_key", "streaming"):
        policy = make_policy(method, budget=64, block_size=16)
        tracker = EvictionTracker(policy)
        tracker.prefill(rng.random(200))
        most = tracker.blocks
        for _ in range(1000):
            tracker.append(float(rng.random()))
            most = max(most, tracker.blocks)
            assert tracker.positions[:16] == list(range(16))  # the sink block is never evicted
        assert most <= 64 // 16 + 1
        assert tracker.positions == sorted(tracker.positions)


def test_budget_must_hold_two_blocks() -> None:
    with pytest.raises(ValueError):
        make_policy("paged", budget=16, block_size=16)
    with pytest.raises(ValueError):
        make_policy("bogus", budget=64, block_size=16)


def test_sink_blocks_protect_a_longer_prefix() -> None:
    policy = make_policy("paged", budget=8, block_size=2, sink_blocks=2)
    scores = np.zeros(12)
    scores[[7, 8]] = [5.0, 6.0]
    assert policy.prefill_keep(scores).tolist() == [0, 1, 2, 3, 7, 8, 10, 11]
    # blocks 0 and 1 are the sink even though they score lowest
    assert policy.choose_block(np.array([0.0, 0.0, 3.0, 1.0, 2.0])) == 3
    assert make_policy("streaming", 8, 2, sink_blocks=2).choose_block(np.zeros(5)) == 2
    with pytest.raises(ValueError):
        make_policy("paged", budget=4, block_size=2, sink_blocks=2)


def test_context_shift_drops_the_oldest_half_after_the_kept_prefix() -> None:
    tracker = make_tracker("context_shift", budget=10, block_size=4, protected=2)
    gone = tracker.prefill(np.zeros(11))
    # 11 > 10: half of the 9 tokens after the first 2 go (llama.cpp's n_discard = n_left / 2)
    assert gone == [2, 3, 4, 5]
    assert tracker.positions == [0, 1, 6, 7, 8, 9, 10]
    assert tracker.append(0.0) == []


def test_keep_all_and_factory() -> None:
    tracker = make_tracker("none", budget=4, block_size=2)
    assert tracker.prefill(np.zeros(9)) == [] and tracker.append(1.0) == []
    assert tracker.positions == list(range(10))
    paged = make_tracker("paged", budget=64, block_size=16, protected=40)
    assert isinstance(paged, EvictionTracker) and paged.policy.sink_blocks == 3
    # protection is capped so that one block can still be evicted
    assert make_tracker("paged", budget=64, block_size=16, protected=500).policy.sink_blocks == 3
    with pytest.raises(ValueError):
        make_tracker("bogus", budget=64, block_size=16)
