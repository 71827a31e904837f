"""The model library's own error family: a message and, optionally, a library-level hint.

The application translates these into its own errors (title + next step) at its boundary.
"""

from __future__ import annotations


class ModelError(Exception):
    """Base: a model is unknown, missing, corrupt or failed while generating."""

    def __init__(self, message: str, hint: str = "", *, model: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.model = model  # the model's name, when the error concerns one

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class ModelConfigError(ModelError):
    """Options that cannot work together (a KV policy a backend lacks, a budget of partial blocks)."""


class ObserverUnavailable(ModelConfigError):
    """The K/V observer a score-based eviction method needs cannot be loaded."""


class ModelNotInstalled(ModelError):
    """A known model is not downloaded yet, or no model is installed at all."""


class DownloadError(ModelError):
    """A model download failed or was refused; what was fetched so far is kept or deleted, as said."""


class ModelNotFound(ModelError):
    """The model spec names no known model and no file that exists."""


class ModelFileMissing(ModelNotFound):
    """The model spec is a path, and no file is there."""


class BackendMissing(ModelError):
    """A backend's runtime (vLLM, ...) is not installed, or the backend name is unknown."""
