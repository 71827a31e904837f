"""Eviction methods as small objects (the kvpress way): one frozen dataclass per method, one registry.

A method says whether it needs the cache's K/V norms (`needs_scores`), turns them into per-token
scores (`score`: higher = keep), and makes the tracker that follows one sequence (`tracker`). Code
asks the method, never compares its name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from models.eviction.baselines import ContextShiftTracker, KeepAll, Tracker
from models.eviction.policy import EvictionTracker, make_policy
from models.eviction.scores import inverse_key_norm, vk_ratio


@dataclass(frozen=True)
class EvictionMethod:
    """Base: a score-free method (every token scores 0: only position decides)."""

    name: ClassVar[str] = ""
    needs_scores: ClassVar[bool] = False
    evicts: ClassVar[bool] = True  # False: the cache must hold every token

    def score(self, k_norm: np.ndarray, v_norm: np.ndarray) -> np.ndarray:
        """(layers, kv_heads, tokens) K and V norms -> (tokens,) float64 scores; higher = keep."""
        del v_norm
        return np.zeros(np.asarray(k_norm).shape[-1])

    def tracker(self, budget: int, block_size: int, protected: int = 0) -> Tracker:
        """A fresh tracker whose first `protected` tokens stay (capped to leave one evictable block)."""
        sink = min(max(1, -(-protected // block_size)), budget // block_size - 1)
        return EvictionTracker(make_policy(self.name, budget, block_size, sink_blocks=max(1, sink)))


@dataclass(frozen=True)
class NormScored(EvictionMethod):
    """A method that scores tokens from the cache's K/V norms with `norm_score`."""

    needs_scores: ClassVar[bool] = True
    norm_score: ClassVar[Callable[[np.ndarray, np.ndarray], np.ndarray]]

    def score(self, k_norm: np.ndarray, v_norm: np.ndarray) -> np.ndarray:
        return type(self).norm_score(
            np.asarray(k_norm, dtype=np.float64), np.asarray(v_norm, dtype=np.float64)
        )


@dataclass(frozen=True)
class PagedEviction(NormScored):
    """PagedEviction: evict the block with the lowest mean ||V|| / ||K||."""

    name: ClassVar[str] = "paged"
    norm_score = staticmethod(vk_ratio)


@dataclass(frozen=True)
class InverseKeyNorm(NormScored):
    """Baseline: keep the tokens with small keys (1 / ||K||)."""

    name: ClassVar[str] = "inverse_key"
    norm_score = staticmethod(inverse_key_norm)


@dataclass(frozen=True)
class StreamingLLM(EvictionMethod):
    """StreamingLLM: the sink block(s) and the most recent blocks."""

    name: ClassVar[str] = "streaming"


@dataclass(frozen=True)
class ContextShift(EvictionMethod):
    """llama.cpp's context shift: keep the first tokens, drop the oldest half of the rest when full."""

    name: ClassVar[str] = "context_shift"

    def tracker(self, budget: int, block_size: int, protected: int = 0) -> Tracker:
        return ContextShiftTracker(budget, keep=min(protected, budget - 2))


@dataclass(frozen=True)
class NoEviction(EvictionMethod):
    """Keep every token (the cache must hold them all)."""

    name: ClassVar[str] = "none"
    evicts: ClassVar[bool] = False

    def tracker(self, budget: int, block_size: int, protected: int = 0) -> Tracker:
        return KeepAll()


METHODS: dict[str, EvictionMethod] = {
    m.name: m for m in (PagedEviction(), InverseKeyNorm(), StreamingLLM(), ContextShift(), NoEviction())
}


TRACKERS = tuple(METHODS)  # every KV policy name a setting may hold


def get_method(name: str) -> EvictionMethod:
    """The registered method called `name`; ValueError names the others."""
    method = METHODS.get(name)
    if method is None:
        raise ValueError(f"unknown KV policy {name!r}; one of {', '.join(METHODS)}")
    return method
