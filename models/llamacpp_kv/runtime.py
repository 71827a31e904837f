"""Feed tokens into a `Llama`'s sequence 0 under a KV budget, evicting what the policy chooses.

Evicted ranges are removed with llama_memory_seq_rm and the later cells shifted down with
llama_memory_seq_add, so cache positions stay 0..n-1 and `Llama.n_tokens` / `Llama.input_ids`
always describe exactly the kept tokens (what `Llama.eval` and `Llama.generate` assume).
A "logical" position is a token's index in everything ever fed (`history`), evicted or not.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.errors import ModelError
from models.eviction.baselines import Tracker, make_tracker
from models.eviction.methods import get_method
from models.llamacpp_kv.native import NormObserver


@dataclass
class KVStats:
    """Counters for benchmarks and `StreamStats.extra`."""

    evictions: int = 0
    evicted_tokens: int = 0
    peak_cells: int = 0
    decodes: int = 0
    unscored_tokens: int = 0  # tokens whose K/V could not be observed (scored as 0)
    evict_ms: float = 0.0
    decode_ms: float = 0.0
    recorded: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


class KVRuntime:
    """Owns the KV cache of `llm` (a llama_cpp.Llama) while a budget is enforced.

    Args:
        llm: the Llama object; its context must have been created with `observer`'s callback.
        observer: K/V norm observer, or None (then every score is 0: recency policies only).
        method: paged | inverse_key | streaming | context_shift | none.
        budget: KV tokens kept per sequence (ignored for "none").
        block_size: eviction granularity for the block policies.
        record: keep every token's observed norms in `stats.recorded` (tests).
    """

    def __init__(
        self,
        llm: Any,
        observer: NormObserver | None,
        method: str,
        budget: int,
        block_size: int = 16,
        *,
        record: bool = False,
    ) -> None:
        from llama_cpp import llama_cpp as C

        self._C = C
        self.llm = llm
        self.method = method
        self.budget = budget
        self.block_size = block_size
        self.record = record
        self.cells = int(llm.n_ctx())
        self.chunk = int(llm.n_batch)
        self._method = get_method(method)  # ValueError for an unknown name
        self.observer = observer if self._method.needs_scores else None
        if observer is not None:
            observer.set_enabled(self.observer is not None)
        self._mem = C.llama_get_memory(llm.ctx)
        if self._method.evicts and not C.llama_memory_can_shift(self._mem):
            raise ModelError(
                "This model's KV cache cannot shift positions, so it cannot evict.",
                "Use this model without a KV budget (no eviction).",
            )
        make_tracker(method, budget, block_size)  # validates method and budget early
        if self._method.evicts and budget + block_size + 1 > self.cells:
            raise ModelError(
                f"A KV budget of {budget} tokens needs a larger llama.cpp context than {self.cells}.",
                "Use a smaller KV budget (kv_budget).",
            )
        self.stats = KVStats()
        self.reset()

    # -- state ---------------------------------------------------------------------------------
    def reset(self, protected: int = 0) -> None:
        """Empty the cache; the first `protected` tokens fed next (the system prompt) are kept."""
        self._C.llama_memory_seq_rm(self._mem, 0, -1, -1)
        self.history: list[int] = []
        self.protected = protected
        self.tracker: Tracker = make_tracker(self.method, self.budget, self.block_size, protected)
        self.llm.n_tokens = 0

    @property
    def positions(self) -> list[int]:
        """Logical positions of the cached tokens, in cache order (cache position i holds entry i)."""
        return self.tracker.positions

    @property
    def kept_tokens(self) -> list[int]:
        return [self.history[p] for p in self.tracker.positions]

    @property
    def n_cached(self) -> int:
        return len(self.tracker.positions)

    def cache_pos_max(self) -> int:
        return int(self._C.llama_memory_seq_pos_max(self._mem, 0))

    def sync(self, prompt: Sequence[int], protected: int = 0) -> list[int]:
        """Reuse what is cached for the longest common prefix of `prompt`; return what to feed.

        At least one token is always returned, so the next decode refreshes the logits.
        """
        prompt = list(prompt)
        common = 0
        for a, b in zip(self.history, prompt, strict=False):
            if a != b:
                break
            common += 1
        common = min(common, len(prompt) - 1)
        if common < min(protected, len(prompt) - 1) or common == 0:
            self.reset(protected)
            return prompt
        if common < len(self.history):
            first = bisect.bisect_left(self.tracker.positions, common)
            self._C.llama_memory_seq_rm(self._mem, 0, first, -1)
            del self.tracker.positions[first:]
            del self.tracker.scores[first:]
            del self.history[common:]
            self.llm.n_tokens = first
        return prompt[common:]

    # -- feeding -------------------------------------------------------------------------------
    def feed(self, tokens: Sequence[int]) -> None:
        """Decode `tokens` after what is cached, evicting as the policy says; logits of the last."""
        tokens = list(tokens)
        if not self._method.evicts and self.n_cached + len(tokens) > self.cells:
            raise ModelError(
                f"The conversation needs {self.n_cached + len(tokens)} KV tokens; "
                f"the cache holds {self.cells}.",
                "Set a KV budget (kv_budget) to evict, or a larger n_ctx.",
            )
        i = 0
        while i < len(tokens):
            room = self.cells - self.n_cached
            take = min(room, self.chunk, len(tokens) - i)
            if take <= 0:  # cannot happen while budget + block + 1 <= cells
                raise ModelError("The KV cache is full.", "Use a smaller KV budget (kv_budget).")
            self._feed_chunk(tokens[i : i + take])
            i += take

    def _feed_chunk(self, part: list[int]) -> None:
        n_past = self.n_cached
        start = len(self.history)
        scores = self._decode(part, n_past, start)
        self.history.extend(part)
        ids = self.llm.input_ids
        ids[n_past : n_past + len(part)] = part
        self.llm.n_tokens = n_past + len(part)
        self.stats.peak_cells = max(self.stats.peak_cells, n_past + len(part))
        before = list(self.tracker.positions) + list(range(start, start + len(part)))
        if n_past == 0:
            gone = self.tracker.prefill(scores, start)
        else:
            gone = []
            for j, score in enumerate(scores):
                gone += self.tracker.append(float(score), start + j)
        if gone:
            self._evict(before, set(gone))

    def _decode(self, part: list[int], n_past: int, start: int) -> np.ndarray:
        batch = self.llm._batch
        batch.set_batch(batch=part, n_past=n_past, logits_all=False)
        t0 = time.perf_counter()
        if self.observer is not None:
            self.observer.begin()
        try:
            self.llm._ctx.decode(batch)
        except RuntimeError as exc:
            raise ModelError(f"llama.cpp failed to decode: {exc}", "Use a smaller KV budget.") from exc
        self.stats.decode_ms += (time.perf_counter() - t0) * 1e3
        self.stats.decodes += 1
        if self.observer is None:
            return np.zeros(len(part))
        norms = self.observer.collect(len(part))
        if norms is None:
            self.stats.unscored_tokens += len(part)
            return np.zeros(len(part))
        k, v = norms
        if self.record:
            for j in range(len(part)):
                self.stats.recorded[start + j] = (k[:, :, j].copy(), v[:, :, j].copy())
        return self._method.score(k, v)

    def _evict(self, before: list[int], gone: set[int]) -> None:
        """Remove the cells of `gone` (logical positions) and close the gaps, highest range first."""
        t0 = time.perf_counter()
        drop = [i for i, p in enumerate(before) if p in gone]
        ranges: list[list[int]] = []
        for i in drop:
            if ranges and ranges[-1][1] == i:
                ranges[-1][1] = i + 1
            else:
                ranges.append([i, i + 1])
        for a, b in reversed(ranges):
            if not self._C.llama_memory_seq_rm(self._mem, 0, a, b):
                raise ModelError("llama.cpp refused to evict a KV range.", "Use no KV budget for this model.")
            self._C.llama_memory_seq_add(self._mem, 0, b, -1, -(b - a))
        keep = np.array([i for i, p in enumerate(before) if p not in gone], dtype=np.intp)
        ids = self.llm.input_ids
        ids[: len(keep)] = ids[keep]
        self.llm.n_tokens = len(keep)
        self.stats.evictions += 1
        self.stats.evicted_tokens += len(drop)
        self.stats.evict_ms += (time.perf_counter() - t0) * 1e3
