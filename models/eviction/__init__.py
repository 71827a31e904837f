"""Block-wise KV cache eviction (PagedEviction) shared by the llama.cpp and vLLM backends."""

from models.eviction.baselines import ContextShiftTracker, KeepAll, make_tracker
from models.eviction.methods import METHODS, TRACKERS, EvictionMethod, get_method
from models.eviction.policy import (
    POLICIES,
    BlockEvictionPolicy,
    EvictionTracker,
    make_policy,
)
from models.eviction.scores import SCORES, inverse_key_norm, token_scores, vk_ratio

__all__ = [
    "METHODS",
    "POLICIES",
    "SCORES",
    "TRACKERS",
    "BlockEvictionPolicy",
    "ContextShiftTracker",
    "EvictionMethod",
    "EvictionTracker",
    "KeepAll",
    "get_method",
    "inverse_key_norm",
    "make_policy",
    "make_tracker",
    "token_scores",
    "vk_ratio",
]
