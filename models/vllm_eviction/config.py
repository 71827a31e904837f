"""The eviction settings as both vLLM processes (engine core and worker) read them."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.eviction.policy import BlockEvictionPolicy
from models.vllm_eviction import CONFIG_KEY


@dataclass(frozen=True)
class EvictionConfig:
    policy: BlockEvictionPolicy | None  # None: no eviction, only the event log (a vanilla baseline)
    log_dir: Path | None = None

    @classmethod
    def from_vllm(cls, vllm_config: Any) -> EvictionConfig | None:
        """None when the engine was started without `additional_config["kv_eviction"]`."""
        conf = (getattr(vllm_config, "additional_config", None) or {}).get(CONFIG_KEY)
        if not conf:
            return None
        block_size = int(vllm_config.cache_config.block_size)
        budget = conf.get("budget")
        policy = BlockEvictionPolicy(block_size, int(budget), conf.get("method", "paged")) if budget else None
        log_dir = Path(conf["log_dir"]) if conf.get("log_dir") else None
        return cls(policy, log_dir)


class EventLog:
    """Append-only JSON lines for tests and the benchmark: positions and block counts, never text."""

    def __init__(self, log_dir: Path | None, name: str) -> None:
        self._path = (log_dir / f"{name}-{os.getpid()}.jsonl") if log_dir else None
        self._lock = threading.Lock()
        if self._path:
            self._path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, **event: Any) -> None:
        if self._path is None:
            return
        with self._lock, self._path.open("a") as fh:
            fh.write(json.dumps(event) + "\n")


def read_events(log_dir: Path, name: str) -> list[dict[str, Any]]:
    """All events `name` processes wrote under `log_dir`, in file order."""
    events: list[dict[str, Any]] = []
    for path in sorted(log_dir.glob(f"{name}-*.jsonl")):
        events.extend(json.loads(line) for line in path.read_text().splitlines() if line)
    return events
