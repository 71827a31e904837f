"""The one seam between the app and the headless pipeline: the app calls `ChatBackend.ask` only.

It owns the local model (loaded once, in a worker, behind a lock) and one `AssistantSession` per
conversation (the session keeps the placeholder map and the history), and hands out event streams.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from assistant.pipeline.events import Event
from assistant.pipeline.types import Outbound
from models.base import CancelToken, SamplingParams

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.pipeline.session import AssistantSession
    from models.base import ChatModel

Confirm = Callable[[str], "str | None"]


class ChatBackend:
    """Model plus pipeline for one unlocked run of the app."""

    def __init__(
        self,
        settings: Settings,
        *,
        keyring: Any = None,
        model: ChatModel | None = None,
        params: SamplingParams = SamplingParams(),
        generalize: bool = False,
    ) -> None:
        self.settings = settings
        self.keyring = keyring
        self.params = params
        self.generalize = generalize
        self._model = model
        self._owns_model = model is None
        self._lock = threading.Lock()
        self._session: AssistantSession | None = None
        self._history: list[tuple[str, str]] = []
        self._store: Any = None  # opened once, shared by the sessions and the index screen
        self._embedder: Any = None

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

    def reconfigure(self, settings: Settings, *, generalize: bool) -> None:
        """Use new settings; a different model is loaded on the next question."""
        with self._lock:
            if settings.model != self.settings.model and self._owns_model and self._model is not None:
                self._model.close()
                self._model = None
            self.settings = settings
            self.generalize = generalize
            self._drop_session()

    def start_conversation(self, history: Sequence[tuple[str, str]] = ()) -> None:
        """A fresh placeholder map and history; a resumed conversation brings its (question, answer)s."""
        with self._lock:
            self._history = list(history)
            self._drop_session()

    def _drop_session(self) -> None:
        self._session = None  # the store it opened is handed to the next session, not closed

    def _current_session(self, model: ChatModel) -> AssistantSession:
        from assistant.pipeline.session import AssistantSession

        store = self.store()
        with self._lock:
            if self._session is None:
                self._session = AssistantSession(
                    self.settings,
                    keyring=self.keyring,
                    model=model,
                    store=store,
                    embedder=self._embedder,
                    params=self.params,
                    generalize=self.generalize,
                )
                self._session.history = list(self._history)
            return self._session

    def store(self, dim: int | None = None) -> Any:
        """The encrypted store, opened once and shared by every session; None before `init`."""
        with self._lock:
            if self._store is None and self.keyring is not None and self.settings.keyfile.exists():
                from encrypted_store import open_store

                self._store = open_store(self.settings, self.keyring, dim=dim)
            return self._store

    def embedder(self) -> Any:
        with self._lock:
            if self._embedder is None:
                from assistant.embedding import Embedder

                self._embedder = Embedder.from_settings(self.settings)
            return self._embedder

    def indexed_files(self) -> list[Any]:
        """What the index holds (`assistant index --list`), sorted by path; blocking."""
        from assistant.ingest import manifest

        store = self.store()
        if store is None:
            return []
        return sorted(manifest.load(store).values(), key=lambda f: f.path)

    def index(self, paths: Sequence[str], progress: Callable[[Any], None], cancel: Any) -> Any:
        """Encrypt and index folders and files (blocking: run in a worker); returns the summary.

        Raises:
            ConfigError: no keys yet. InputError: a path does not exist. Cancelled: `cancel` was set.
        """
        from assistant.errors import ConfigError
        from assistant.ingest.indexer import index_paths

        embedder = self.embedder()
        fresh = not self.settings.store_url and not self.settings.store_path.exists()
        store = self.store(dim=embedder.dim if fresh else None)
        if store is None:
            raise ConfigError("This data dir has no keys yet.", "Run `assistant init` first.")
        from assistant.privacy.vocabulary import PrivateVocabulary

        vocabulary = PrivateVocabulary.load(self.settings.home, self.keyring)  # sealed (issue 13)
        return index_paths(
            list(paths),
            store,
            embedder,
            self.keyring,
            progress=progress,
            cancel=cancel,
            vocabulary=vocabulary,
        )

    def ask(
        self,
        question: str,
        *,
        use_remote: bool,
        cancel: CancelToken,
        confirm: Confirm | None = None,
    ) -> Iterator[Event]:
        """Events for one question (a blocking iterator: consume it in a worker thread)."""
        model = self.ensure_ready()
        session = self._current_session(model)
        yield from session.ask(question, use_remote=use_remote, cancel=cancel, confirm=confirm)

    def replies_for(self, outbound: Sequence[Outbound]) -> list[str]:
        """The remote's reply to each request, from the encrypted ledger ("" where none is recorded)."""
        session = self._session
        ledger = getattr(session, "ledger", None)
        if not outbound or ledger is None:
            return ["" for _ in outbound]
        entries = ledger.entries()[-4 * len(outbound) :]
        replies = []
        for sent in outbound:
            match = next((e for e in reversed(entries) if e.body == sent.body and e.url == sent.url), None)
            replies.append(match.reply if match else "")
        return replies

    def record_text(self, record_id: str) -> str | None:
        """The full text of a cited record, decrypted locally; None when there is no store."""
        store = self._store
        if store is None:
            return None
        records = store.get([record_id])
        return records[0].text if records else None

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
            if self._owns_model and self._model is not None:
                self._model.close()
                self._model = None
