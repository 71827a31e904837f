"""PagedEviction on Hugging Face transformers: the reference the vLLM integration is checked against.

One sequence, greedy or teacher-forced. The model's `DynamicCache` is pruned between forward calls with
the shared policy (`models.eviction`): prefill eviction rounded to whole blocks (`aligned_prefill`), then
one whole block evicted whenever the newest block fills over budget. RoPE positions keep counting
(`position_ids` are the original positions); attention sees only the kept entries, no kernel changes.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from models.eviction.aligned import aligned_prefill, evicted_block_index
from models.eviction.policy import BlockEvictionPolicy, EvictionTracker
from models.eviction.scores import token_scores


def _layers_kv(cache: Any) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(keys, values) per layer, each (batch, kv_heads, tokens, head_dim), across transformers versions."""
    if hasattr(cache, "layers"):
        return [(layer.keys, layer.values) for layer in cache.layers]
    return list(zip(cache.key_cache, cache.value_cache, strict=True))  # transformers < 4.56


def _set_layers_kv(cache: Any, kv: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    for i, (k, v) in enumerate(kv):
        if hasattr(cache, "layers"):
            cache.layers[i].keys, cache.layers[i].values = k, v
        else:
            cache.key_cache[i], cache.value_cache[i] = k, v


def kv_norms(kv: list[tuple[torch.Tensor, torch.Tensor]], lo: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """L2 norms of cached keys and values from entry `lo` on: two (layers, kv_heads, tokens) arrays."""
    k = torch.stack([keys[0, :, lo:].float().norm(dim=-1) for keys, _ in kv])
    v = torch.stack([values[0, :, lo:].float().norm(dim=-1) for _, values in kv])
    return k.cpu().numpy(), v.cpu().numpy()


@dataclass
class EvictingSession:
    """Decodes one sequence with an HF causal LM; `policy=None` keeps the full cache."""

    model: Any
    policy: BlockEvictionPolicy | None = None
    cache: Any = None
    tracker: EvictionTracker | None = None
    next_position: int = 0
    max_blocks: int = 0
    evictions: list[list[int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        from transformers import DynamicCache

        self.cache = DynamicCache()
        params = inspect.signature(self.model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        self.tracker = EvictionTracker(self.policy) if self.policy else None

    @property
    def kv_tokens(self) -> int:
        kv = _layers_kv(self.cache)
        return int(kv[0][0].shape[-2]) if kv else 0

    @property
    def kv_bytes(self) -> int:
        return sum(k.nelement() * k.element_size() * 2 for k, _ in _layers_kv(self.cache))

    @property
    def kept_positions(self) -> list[int]:
        return list(self.tracker.positions) if self.tracker else list(range(self.next_position))

    @torch.inference_mode()
    def _forward(self, ids: list[int]) -> torch.Tensor:
        device = next(self.model.parameters()).device
        n = len(ids)
        positions = torch.arange(self.next_position, self.next_position + n, device=device)[None]
        out = self.model(
            input_ids=torch.tensor([ids], device=device),
            position_ids=positions,
            use_cache=True,
            logits_to_keep=1,
            **{self._cache_arg: self.cache},
        )
        self.next_position += n
        return out.logits[0, -1]

    def prefill(self, ids: list[int]) -> torch.Tensor:
        """Run the whole prompt with full attention, then evict down to the budget; last logits."""
        logits = self._forward(ids)
        if self.tracker is not None:
            kv = _layers_kv(self.cache)
            k, v = kv_norms(kv)
            dropped = aligned_prefill(self.tracker, token_scores(self.policy.method, k, v))
            if dropped:
                keep = torch.tensor(self.tracker.positions, device=kv[0][0].device)
                _set_layers_kv(self.cache, [(a[:, :, keep], b[:, :, keep]) for a, b in kv])
                self.evictions.append(dropped)
        self._note_blocks()
        return logits

    def step(self, token: int) -> torch.Tensor:
        """Feed one token; evict a whole block when its block fills over budget; next logits."""
        logits = self._forward([token])
        if self.tracker is not None:
            kv = _layers_kv(self.cache)
            k, v = kv_norms(kv, lo=self.kv_tokens - 1)
            before = list(self.tracker.positions)
            score = float(token_scores(self.policy.method, k, v)[0])
            gone = self.tracker.append(score, self.next_position - 1)
            self._note_blocks()  # before the cut: the full newest block is held until evicted
            if gone:
                bs = self.policy.block_size
                lo = evicted_block_index(before + [self.next_position - 1], gone, bs) * bs
                _set_layers_kv(self.cache, [(_cut(a, lo, bs), _cut(b, lo, bs)) for a, b in kv])
                self.evictions.append(gone)
        return logits

    def generate(self, prompt: list[int], max_new_tokens: int, forced: list[int] | None = None) -> list[int]:
        """Greedy tokens; with `forced`, feeds those tokens instead (teacher forcing) and still
        returns the model's own argmax at every step."""
        out = [int(self.prefill(prompt).argmax())]
        for i in range(max_new_tokens - 1):
            fed = forced[i] if forced is not None else out[-1]
            out.append(int(self.step(fed).argmax()))
        return out

    def _note_blocks(self) -> None:
        bs = self.policy.block_size if self.policy else 32  # full cache: counted in 32-token blocks
        self.max_blocks = max(self.max_blocks, -(-self.kv_tokens // bs))


def _cut(t: torch.Tensor, lo: int, n: int) -> torch.Tensor:
    return torch.cat([t[:, :, :lo], t[:, :, lo + n :]], dim=2)
