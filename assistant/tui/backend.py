"""The one seam between the app and the headless pipeline: the app calls `ChatBackend.ask` only.

It owns the local model (loaded once, in a worker, behind a lock) and hands out event streams.
Switching from the local-only `ask_stream` to the full `AssistantSession` is the line in `_events`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from assistant.pipeline.events import Event
from models.base import CancelToken, SamplingParams

if TYPE_CHECKING:
    from assistant.config import Settings
    from models.base import ChatModel

Confirm = Callable[[str], "str | None"]


class ChatBackend:
    """Model plus pipeline for one unlocked session of the app."""

    def __init__(
        self,
        settings: Settings,
        *,
        keyring: Any = None,
        model: ChatModel | None = None,
        params: SamplingParams = SamplingParams(),
    ) -> None:
        self.settings = settings
        self.keyring = keyring
        self.params = params
        self._model = model
        self._owns_model = model is None
        self._lock = threading.Lock()
        self._session: Any = None

    @property
    def model_name(self) -> str:
        if self._model is not None:
            return self._model.name
        return self.settings.model or "default"

    @property
    def demo_quality(self) -> bool:
        return bool(self._model is not None and self._model.demo_quality)

    @property
    def remote_available(self) -> bool:
        return self.settings.remote_enabled

    def ensure_ready(self) -> ChatModel:
        """Load the local model if needed (blocking: call from a worker)."""
        with self._lock:
            if self._model is None:
                from models.registry import load_model

                self._model = load_model(self.settings)
            return self._model

    def reconfigure(self, settings: Settings) -> None:
        """Use new settings; a different model is loaded on the next question."""
        with self._lock:
            if settings.model != self.settings.model and self._owns_model and self._model is not None:
                self._model.close()
                self._model = None
            self.settings = settings
            self._session = None

    def ask(
        self,
        question: str,
        *,
        use_remote: bool,
        cancel: CancelToken,
        confirm: Confirm | None = None,
    ) -> Iterator[Event]:
        """Events for one question (blocking iterator: consume it in a worker thread)."""
        model = self.ensure_ready()
        return self._events(question, model, use_remote=use_remote, cancel=cancel, confirm=confirm)

    def _events(
        self,
        question: str,
        model: ChatModel,
        *,
        use_remote: bool,
        cancel: CancelToken,
        confirm: Confirm | None,
    ) -> Iterator[Event]:
        from assistant.pipeline.ask import ask_stream

        return ask_stream(question, model, params=self.params, cancel=cancel)

    def record_text(self, record_id: str) -> str | None:
        """The full text of a cited record, decrypted locally; None when there is no store."""
        store = getattr(self._session, "store", None)
        if store is None:
            return None
        records = store.get([record_id])
        return records[0].text if records else None

    def close(self) -> None:
        with self._lock:
            if self._owns_model and self._model is not None:
                self._model.close()
                self._model = None
