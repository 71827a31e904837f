"""Baselines with the `EvictionTracker` interface, and one factory for every KV policy name.

`ContextShiftTracker` is llama.cpp's own context shift (keep the first `keep` tokens, drop the
oldest half of the rest when full); `KeepAll` never evicts (the full-cache upper bound).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


class Tracker(Protocol):
    """What a runtime needs: kept original positions in cache order, and what each call evicted."""

    positions: list[int]
    scores: list[float]
    evicted: int

    def prefill(self, scores: np.ndarray, start: int = 0) -> list[int]: ...

    def append(self, score: float, position: int | None = None) -> list[int]: ...


@dataclass
class ContextShiftTracker:
    """llama.cpp's context shift: over budget, drop half of the tokens after the first `keep`."""

    budget: int
    keep: int = 0
    positions: list[int] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    evicted: int = 0

    def __post_init__(self) -> None:
        if self.budget < 2 or not 0 <= self.keep <= self.budget - 2:
            raise ValueError("context shift needs room for two tokens beyond the kept prefix")

    def prefill(self, scores: np.ndarray, start: int = 0) -> list[int]:
        gone: list[int] = []
        for i, score in enumerate(np.asarray(scores, dtype=np.float64)):
            gone += self.append(float(score), start + i)
        return gone

    def append(self, score: float, position: int | None = None) -> list[int]:
        pos = (self.positions[-1] + 1) if position is None else position
        self.positions.append(pos)
        self.scores.append(float(score))
        if len(self.positions) <= self.budget:
            return []
        n_discard = (len(self.positions) - self.keep) // 2
        gone = self.positions[self.keep : self.keep + n_discard]
        del self.positions[self.keep : self.keep + n_discard]
        del self.scores[self.keep : self.keep + n_discard]
        self.evicted += len(gone)
        return gone


@dataclass
class KeepAll:
    """No eviction: every token stays (the cache must be large enough)."""

    positions: list[int] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    evicted: int = 0

    def prefill(self, scores: np.ndarray, start: int = 0) -> list[int]:
        self.positions.extend(range(start, start + len(scores)))
        self.scores.extend(float(s) for s in np.asarray(scores, dtype=np.float64))
        return []

    def append(self, score: float, position: int | None = None) -> list[int]:
        self.positions.append((self.positions[-1] + 1) if position is None else position)
        self.scores.append(float(score))
        return []


def make_tracker(method: str, budget: int, block_size: int, protected: int = 0) -> Tracker:
    """A fresh tracker for `method` whose first `protected` tokens (the system prompt) stay.

    Protection is capped so that the budget still holds one evictable block (or, for the context
    shift, two free tokens).
    """
    from models.eviction.methods import get_method

    return get_method(method).tracker(budget, block_size, protected)
