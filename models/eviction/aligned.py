"""Prefill eviction rounded to whole blocks, so evictions map onto a paged (vLLM) block table.

`BlockEvictionPolicy.prefill_keep` keeps exactly `budget` prompt tokens. A paged cache can only give
whole blocks back, and vLLM's scheduler allocates by logical position, so the number of dropped prompt
tokens must be a multiple of the block size: keep the budget plus fewer than one block more.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from models.eviction.policy import BlockEvictionPolicy, EvictionTracker


def aligned_policy(policy: BlockEvictionPolicy, prompt_len: int) -> BlockEvictionPolicy:
    """The policy whose budget drops the most whole blocks from a `prompt_len` prompt, never more."""
    if prompt_len <= policy.budget:
        return policy
    dropped = (prompt_len - policy.budget) // policy.block_size * policy.block_size
    return replace(policy, budget=prompt_len - dropped)


def aligned_prefill(tracker: EvictionTracker, scores: np.ndarray, start: int = 0) -> list[int]:
    """Like `tracker.prefill`, with the block-aligned keep count; returns the evicted positions."""
    scores = np.asarray(scores, dtype=np.float64)
    keep = aligned_policy(tracker.policy, len(scores)).prefill_keep(scores)
    kept = set(keep.tolist())
    dropped = [start + i for i in range(len(scores)) if i not in kept]
    tracker.positions.extend(start + int(i) for i in keep)
    tracker.scores.extend(float(scores[i]) for i in keep)
    tracker.evicted += len(dropped)
    return dropped


def evicted_block_index(positions_before: list[int], gone: list[int], block_size: int) -> int:
    """Which kept block (0-based, in cache order) a decode eviction removed."""
    return positions_before.index(gone[0]) // block_size
