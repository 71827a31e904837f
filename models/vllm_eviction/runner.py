"""Worker side of PagedEviction: scores at K/V write time, per-request offsets, block eviction.

The block-table row of an evicting request is kept compact (evicted blocks removed), so the CPU
attention kernel needs no change: `seq_lens` and the slot mapping are shifted by the number of evicted
tokens (`offset`), while RoPE positions keep counting. Scores come from the key/value tensors as they
are written (the cache layout is ISA-dependent and packed), summed over layers and heads.
Prefill eviction rewrites the kept prompt tokens' K/V into the first blocks with vLLM's own cache-write
op, then drops the trailing blocks; decode eviction drops one whole block. Each drop is reported to the
scheduler (`ModelRunnerOutput.kv_evictions`), which returns the block to the pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from vllm.v1.attention.backends.cpu_attn import CPUAttentionBackendImpl
from vllm.v1.worker.cpu_model_runner import CPUModelRunner

from models.eviction.aligned import aligned_prefill, evicted_block_index
from models.eviction.policy import EvictionTracker
from models.eviction.scores import EPS
from models.vllm_eviction.config import EventLog, EvictionConfig

_WRITE = CPUAttentionBackendImpl.do_kv_cache_update
_ACTIVE: list[EvictingCPUModelRunner] = []


def _observed_write(impl: Any, layer: Any, key: torch.Tensor, value: torch.Tensor, kv_cache: Any, slots: Any):
    _WRITE(impl, layer, key, value, kv_cache, slots)
    if _ACTIVE:
        _ACTIVE[0].observe(impl, layer, key, value, kv_cache)


@dataclass
class _Request:
    tracker: EvictionTracker
    prefill_len: int  # tokens computed before decoding starts (prompt, or all tokens on resume)
    offset: int = 0  # evicted tokens: logical position - offset = index in the compact row
    scores: list[np.ndarray] = field(default_factory=list)
    kv: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = field(default_factory=dict)
    prefilled: bool = False


@dataclass
class _Step:
    req_ids: list[str]
    starts: np.ndarray  # first position computed this step, per request
    counts: np.ndarray  # tokens computed this step, per request
    capture: dict[str, tuple[int, int]]  # batch rows of prompt tokens whose K/V must be kept
    total: int
    acc: torch.Tensor | None = None
    terms: int = 0


class EvictingCPUModelRunner(CPUModelRunner):
    def __init__(self, vllm_config: Any, device: torch.device) -> None:
        super().__init__(vllm_config, device)
        conf = EvictionConfig.from_vllm(vllm_config)
        self.kv_policy = conf.policy if conf else None
        self._evict: dict[str, _Request] = {}
        self._step: _Step | None = None
        self._layers: dict[int, tuple[Any, Any, Any, tuple[int, ...]]] = {}
        self._report: dict[str, list[list[int]]] = {}
        self._log = EventLog(conf.log_dir if conf else None, "worker")
        if self.kv_policy is not None:
            CPUAttentionBackendImpl.do_kv_cache_update = _observed_write
            _ACTIVE[:] = [self]

    # --- request bookkeeping -------------------------------------------------------------------
    def _update_states(self, scheduler_output: Any) -> Any:
        if self.kv_policy is not None:
            for req_id in scheduler_output.finished_req_ids:
                self._evict.pop(req_id, None)
            fresh = {r.req_id for r in scheduler_output.scheduled_new_reqs}
            fresh |= set(scheduler_output.scheduled_cached_reqs.resumed_req_ids)
            for req_id in fresh:  # new, or resumed after preemption: recomputed with full attention
                self._evict.pop(req_id, None)
        out = super()._update_states(scheduler_output)
        if self.kv_policy is not None:
            for req_id in fresh:
                state = self.requests[req_id]
                total = len(state.prompt_token_ids or ()) + len(state.output_token_ids)
                self._evict[req_id] = _Request(EvictionTracker(self.kv_policy), total)
        return out

    def _prepare_inputs(self, scheduler_output: Any, num_scheduled_tokens: np.ndarray) -> Any:
        result = super()._prepare_inputs(scheduler_output, num_scheduled_tokens)
        if self.kv_policy is None:
            return result
        n = self.input_batch.num_reqs
        req_ids = list(self.input_batch.req_ids[:n])
        starts = self.input_batch.num_computed_tokens_cpu[:n].copy()
        counts = np.asarray(num_scheduled_tokens[:n])
        total = int(counts.sum())
        offsets = np.array([self._evict[r].offset if r in self._evict else 0 for r in req_ids])
        if offsets.any():
            off = torch.from_numpy(offsets)
            self.seq_lens[:n] -= off.to(self.seq_lens.dtype)
            self.optimistic_seq_lens_cpu[:n] -= off.to(self.optimistic_seq_lens_cpu.dtype)
            compact = self.positions[:total] - torch.from_numpy(np.repeat(offsets, counts)).to(
                self.positions.dtype
            )
            self.input_batch.block_table.compute_slot_mapping(n, self.query_start_loc.gpu[: n + 1], compact)
        capture: dict[str, tuple[int, int]] = {}
        row = 0
        for req_id, count in zip(req_ids, counts, strict=True):
            state = self._evict.get(req_id)
            if state and not state.prefilled and state.prefill_len > self.kv_policy.budget:
                capture[req_id] = (row, row + int(count))
            row += int(count)
        self._step = _Step(req_ids, starts, counts, capture, total)
        return result

    # --- scores and K/V capture, called by every attention layer's cache write -------------------
    def observe(self, impl: Any, layer: Any, key: torch.Tensor, value: torch.Tensor, kv_cache: Any) -> None:
        step = self._step
        if step is None or step.total == 0:
            return
        self._layers.setdefault(id(layer), (impl, layer, kv_cache, tuple(key.shape[1:])))
        k = key[: step.total].reshape(step.total, -1, impl.head_size)
        v = value[: step.total].reshape(step.total, -1, impl.head_size)
        method = self.kv_policy.method
        if method != "streaming":
            k_norm = k.float().norm(dim=-1).clamp_min(EPS)
            term = (v.float().norm(dim=-1) / k_norm) if method == "paged" else 1.0 / k_norm
            step.acc = term.sum(-1) if step.acc is None else step.acc + term.sum(-1)
            step.terms += term.shape[-1]
        for req_id, (a, b) in step.capture.items():
            chunks = self._evict[req_id].kv.setdefault(id(layer), [])
            chunks.append((k[a:b].clone(), v[a:b].clone()))

    # --- after each forward: admit the new tokens and evict --------------------------------------
    def execute_model(self, scheduler_output: Any, *args: Any, **kwargs: Any) -> Any:
        out = super().execute_model(scheduler_output, *args, **kwargs)
        if self.kv_policy is not None and self._step is not None:
            self._admit(self._step)
            self._step = None
        return self._attach(out)

    def sample_tokens(self, *args: Any, **kwargs: Any) -> Any:
        return self._attach(super().sample_tokens(*args, **kwargs))

    def _attach(self, out: Any) -> Any:
        if out is not None and self._report and hasattr(out, "sampled_token_ids"):
            out.kv_evictions, self._report = self._report, {}
        return out

    def _admit(self, step: _Step) -> None:
        acc = step.acc
        scores = (acc / step.terms).double().numpy() if acc is not None else np.zeros(step.total)
        row = 0
        for req_id, start, count in zip(step.req_ids, step.starts, step.counts, strict=True):
            state = self._evict.get(req_id)
            chunk = scores[row : row + int(count)]
            row += int(count)
            if state is None or count == 0:
                continue
            if not state.prefilled:
                state.scores.append(chunk)
                if start + count >= state.prefill_len:
                    self._prefill_evict(req_id, state, np.concatenate(state.scores))
                continue
            bs = state.tracker.policy.block_size
            for i, score in enumerate(chunk):
                before = list(state.tracker.positions)
                gone = state.tracker.append(float(score), int(start) + i)
                if gone:
                    self._drop(req_id, [evicted_block_index(before + [int(start) + i], gone, bs)])
                    state.offset += bs
                    self._log.write(event="evict", req=req_id, positions=gone)

    def _prefill_evict(self, req_id: str, state: _Request, scores: np.ndarray) -> None:
        state.prefilled = True
        dropped = aligned_prefill(state.tracker, scores)
        kv, state.kv, state.scores = state.kv, {}, []
        if not dropped:
            return
        bs = state.tracker.policy.block_size
        kept = torch.tensor(state.tracker.positions)
        ids = self.requests[req_id].block_ids[0]
        ranks = torch.arange(len(kept))
        slots = torch.tensor(ids, dtype=torch.int64)[ranks // bs] * bs + ranks % bs
        for layer_id, chunks in kv.items():
            impl, layer, cache, shape = self._layers[layer_id]
            keys = torch.cat([c[0] for c in chunks])[kept].reshape(-1, *shape)
            values = torch.cat([c[1] for c in chunks])[kept].reshape(-1, *shape)
            _WRITE(impl, layer, keys, values, cache, slots)
        first, last = -(-len(kept) // bs), -(-state.prefill_len // bs)
        self._drop(req_id, list(range(first, last)))
        state.offset += len(dropped)
        self._log.write(event="evict", req=req_id, positions=dropped)

    def _drop(self, req_id: str, indexes: list[int]) -> None:
        """Remove live blocks `indexes` from the request's row; the scheduler frees them."""
        state = self.requests[req_id]
        ids = state.block_ids[0]
        for j in sorted(indexes, reverse=True):
            del ids[j]
        self.input_batch.block_table.add_row(state.block_ids, self.input_batch.req_id_to_index[req_id])
        self._report.setdefault(req_id, []).append(indexes)
