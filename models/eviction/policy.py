"""Which tokens and blocks to evict: PagedEviction and the StreamingLLM baseline.

Positions are the tokens' original positions; a block is `block_size` consecutive *kept* entries,
so the same decisions map onto vLLM's block table, a llama.cpp sequence, or a masked HF cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

POLICIES = ("paged", "inverse_key", "streaming")


@dataclass(frozen=True)
class BlockEvictionPolicy:
    """`method`: "paged" (V/K norm ratio), "inverse_key" (1/||K||) or "streaming" (sinks + recent).

    `sink_blocks` leading blocks are never evicted: the attention sink, and on llama.cpp the whole
    system prompt (the default 1 is the paper's single sink block).
    """

    block_size: int
    budget: int  # KV tokens kept per sequence
    method: str = "paged"
    sink_blocks: int = 1

    def __post_init__(self) -> None:
        if self.method not in POLICIES:
            raise ValueError(f"unknown eviction method {self.method!r}; one of {POLICIES}")
        if self.sink_blocks < 1:
            raise ValueError("at least one sink block is kept")
        if self.block_size < 1 or self.budget < (self.sink_blocks + 1) * self.block_size:
            raise ValueError("the budget must hold the sink block(s) and the newest block")

    def prefill_keep(self, scores: np.ndarray) -> np.ndarray:
        """Indexes (sorted) of prompt tokens to keep: sink block(s), last block, best of the middle."""
        n = len(scores)
        if n <= self.budget:
            return np.arange(n)
        bs, sink = self.block_size, self.sink_blocks * self.block_size
        middle = np.arange(sink, n - bs)
        room = self.budget - sink - bs
        if self.method == "streaming":
            chosen = middle[len(middle) - room :] if room else middle[:0]
        else:
            # stable: among equal scores the later token wins, as recency breaks ties
            order = np.argsort(-np.asarray(scores)[middle][::-1], kind="stable")
            chosen = np.sort(middle[::-1][order[:room]])
        return np.concatenate([np.arange(sink), chosen, np.arange(n - bs, n)])

    def choose_block(self, block_scores: np.ndarray) -> int:
        """Index of the block to evict: lowest mean score, never a sink block nor the newest."""
        n_blocks = len(block_scores)
        if n_blocks < self.sink_blocks + 2:
            raise ValueError("need a block between the sink block(s) and the newest to evict one")
        if self.method == "streaming":
            return self.sink_blocks
        candidates = np.asarray(block_scores)[self.sink_blocks : n_blocks - 1]
        return self.sink_blocks + int(np.argmin(candidates))


@dataclass
class EvictionTracker:
    """Follows one sequence: which original positions are in the cache and their scores."""

    policy: BlockEvictionPolicy
    positions: list[int] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    evicted: int = 0

    def prefill(self, scores: np.ndarray, start: int = 0) -> list[int]:
        """Admit a prompt of len(scores) tokens at positions start...; returns evicted positions."""
        scores = np.asarray(scores, dtype=np.float64)
        keep = self.policy.prefill_keep(scores)
        kept = set(keep.tolist())
        dropped = [start + i for i in range(len(scores)) if i not in kept]
        self.positions.extend(start + int(i) for i in keep)
        self.scores.extend(float(scores[i]) for i in keep)
        self.evicted += len(dropped)
        return dropped

    def append(self, score: float, position: int | None = None) -> list[int]:
        """Admit one decoded token; when its block fills while over budget, evict a whole block."""
        pos = (self.positions[-1] + 1) if position is None else position
        self.positions.append(pos)
        self.scores.append(float(score))
        bs = self.policy.block_size
        n = len(self.positions)
        if n % bs or n <= self.policy.budget:
            return []
        means = np.asarray(self.scores).reshape(-1, bs).mean(axis=1)
        victim = self.policy.choose_block(means)
        lo, hi = victim * bs, (victim + 1) * bs
        gone = self.positions[lo:hi]
        del self.positions[lo:hi]
        del self.scores[lo:hi]
        self.evicted += len(gone)
        return gone

    @property
    def blocks(self) -> int:
        return -(-len(self.positions) // self.policy.block_size)


def make_policy(method: str, budget: int, block_size: int, sink_blocks: int = 1) -> BlockEvictionPolicy:
    return BlockEvictionPolicy(block_size=block_size, budget=budget, method=method, sink_blocks=sink_blocks)
