"""Worker side: the CPU worker, building the evicting model runner instead of vLLM's."""

from __future__ import annotations

from typing import Any

from vllm.v1.worker import cpu_worker
from vllm.v1.worker.cpu_worker import CPUWorker


class EvictingCPUWorker(CPUWorker):
    def init_device(self) -> Any:
        from models.vllm_eviction.runner import EvictingCPUModelRunner

        if getattr(self, "use_v2_model_runner", False):
            raise RuntimeError("KV eviction needs the V1 model runner: set VLLM_USE_V2_MODEL_RUNNER=0")
        original = cpu_worker.CPUModelRunner
        cpu_worker.CPUModelRunner = EvictingCPUModelRunner  # looked up by name in init_device
        try:
            return super().init_device()
        finally:
            cpu_worker.CPUModelRunner = original
