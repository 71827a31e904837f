"""Scheduler side: returns the blocks the worker evicted to the pool (the "null-slot" scheme).

An evicted block's entry in `req_to_blocks` becomes vLLM's null block, so every positional count
(`cdiv(num_tokens, block_size) - len(blocks)`) stays valid and the block itself is reusable at once.
The worker drops the same block from its own (compacted) block-table row; both sides agree because
the worker names blocks by their index among the request's non-null blocks.
"""

from __future__ import annotations

from typing import Any

from vllm.v1.core.sched.scheduler import Scheduler

from models.vllm_eviction.config import EventLog, EvictionConfig


class EvictingScheduler(Scheduler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kv_eviction = EvictionConfig.from_vllm(self.vllm_config)
        self._log = EventLog(self.kv_eviction.log_dir if self.kv_eviction else None, "scheduler")
        self.max_running = 0
        self.max_blocks: dict[str, int] = {}

    def _managers(self) -> list[Any]:
        return list(self.kv_cache_manager.coordinator.single_type_managers)

    def held_blocks(self, req_id: str) -> int:
        """Blocks a request holds now (null entries excluded), over all KV cache groups."""
        return sum(sum(1 for b in m.req_to_blocks.get(req_id, ()) if not b.is_null) for m in self._managers())

    def schedule(self, *args: Any, **kwargs: Any) -> Any:
        out = super().schedule(*args, **kwargs)
        if self.kv_eviction is not None:
            self.max_running = max(self.max_running, len(self.running))
            for req in self.running:
                held = self.held_blocks(req.request_id)
                self.max_blocks[req.request_id] = max(held, self.max_blocks.get(req.request_id, 0))
                self._log.write(
                    event="blocks",
                    req=req.request_id,
                    held=held,
                    computed=int(req.num_computed_tokens),
                    prompt=int(req.num_prompt_tokens),
                )
            computed = [int(r.num_computed_tokens) for r in self.running]
            self._log.write(event="running", computed=computed, free=self.block_pool_free())
        return out

    def _preempt_request(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        self._log.write(event="preempt", req=request.request_id)
        return super()._preempt_request(request, *args, **kwargs)

    def update_from_output(self, scheduler_output: Any, model_runner_output: Any) -> Any:
        for req_id, events in (getattr(model_runner_output, "kv_evictions", None) or {}).items():
            for indexes in events:
                self._free_evicted(req_id, indexes)
        return super().update_from_output(scheduler_output, model_runner_output)

    def _free_evicted(self, req_id: str, indexes: list[int]) -> None:
        """Null the request's `indexes`-th live blocks (indexes into its non-null blocks)."""
        for manager in self._managers():
            blocks = manager.req_to_blocks.get(req_id)
            if not blocks:
                continue
            live = [i for i, b in enumerate(blocks) if not b.is_null]
            freed = []
            for j in sorted(set(indexes), reverse=True):
                i = live[j]
                freed.append(blocks[i])
                blocks[i] = manager._null_block
            manager.block_pool.free_blocks(freed)
        self._log.write(event="freed", req=req_id, n=len(indexes), free=self.block_pool_free())

    def block_pool_free(self) -> int:
        return int(self.kv_cache_manager.block_pool.get_num_free_blocks())
