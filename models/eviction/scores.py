"""Token importance from the norms of cached keys and values; higher means keep.

Norm arrays have shape (layers, kv_heads, tokens); a score is one float per token.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EPS = 1e-6

ScoreFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def vk_ratio(k_norm: np.ndarray, v_norm: np.ndarray) -> np.ndarray:
    """PagedEviction's S_i = ||V_i|| / ||K_i||, averaged over KV heads and layers.

    The authors' vLLM fork computes ||K||/||V||; this is the paper's definition.
    """
    return np.asarray(v_norm / np.maximum(k_norm, EPS), dtype=np.float64).mean(axis=(0, 1))


def inverse_key_norm(k_norm: np.ndarray, v_norm: np.ndarray) -> np.ndarray:
    """Baseline: tokens with small keys draw attention (Devoto et al., 2024)."""
    del v_norm
    return np.asarray(1.0 / np.maximum(k_norm, EPS), dtype=np.float64).mean(axis=(0, 1))


SCORES: dict[str, ScoreFn] = {"paged": vk_ratio, "inverse_key": inverse_key_norm}


def token_scores(method: str, k_norm: np.ndarray, v_norm: np.ndarray) -> np.ndarray:
    """Scores for the registered `method`; score-free methods (streaming, ...) give zeros."""
    from models.eviction.methods import get_method

    return get_method(method).score(k_norm, v_norm)
