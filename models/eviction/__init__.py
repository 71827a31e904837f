"""Block-wise KV cache eviction (PagedEviction) shared by the llama.cpp and vLLM backends."""

from models.eviction.policy import (
    POLICIES,
    BlockEvictionPolicy,
    EvictionTracker,
    make_policy,
)
from models.eviction.scores import SCORES, inverse_key_norm, token_scores, vk_ratio

__all__ = [
    "POLICIES",
    "SCORES",
    "BlockEvictionPolicy",
    "EvictionTracker",
    "inverse_key_norm",
    "make_policy",
    "token_scores",
    "vk_ratio",
]
