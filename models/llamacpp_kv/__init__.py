"""KV-budgeted llama.cpp: K/V norm observation in cb_eval, block eviction, bounded-memory chat."""

from models.llamacpp_kv.model import EvictingLlamaCppModel

__all__ = ["EvictingLlamaCppModel"]
