"""The headless core: unlock, ask, index, note, conversations, records. The CLI and the TUI both call it.

It owns the local model (loaded once, behind a lock), the encrypted store and the embedder (opened
once, shared), and one `AssistantSession` per conversation (the session keeps the placeholder map and
the history). Everything here blocks: the TUI calls it from workers. No Textual here (a test proves it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from assistant.pipeline.events import Event
from assistant.pipeline.types import Outbound
from models.base import CancelToken, Message, SamplingParams

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.conversations import ConversationStore
    from assistant.notes.note import ClinicalNote
    from assistant.pipeline.session import AssistantSession
    from encrypted_store.keys import Keyring
    from models.base import ChatModel

Confirm = Callable[[str], "str | None"]


def unlock(settings: Settings, passphrase: str | Callable[[], str], *, create: bool = False) -> Keyring:
    """The data dir's keys: created under `passphrase` when `create` and none exist yet, else unlocked.

    Slow by design (argon2id). A callable passphrase is asked only once the key file checks out.

    Raises:
        NotInitialized: no keys and not `create`. WrongPassphrase: it does not unlock them.
    """
    from assistant import wiring
    from assistant.datadir import secure_home

    if create and not wiring.is_initialized(settings):
        settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        secure_home(settings.home)
        return wiring.create_keys(settings, passphrase() if callable(passphrase) else passphrase)
    if wiring.is_initialized(settings):
        from assistant.rekey import resume

        secure_home(settings.home)  # owner-only, also for a data dir made before this version
        resume(settings)  # a rekey killed after its new state was complete is finished first
    return wiring.unlock(settings, passphrase)


def _import_embedding_stack() -> None:
    from assistant.embedding import quiet_offline_environment

    quiet_offline_environment()
    import sentence_transformers  # noqa: F401  (seconds of imports; the model loads on first use)


def _warm_ner() -> None:
    from assistant.pipeline.sanitizer import spacy_pipeline

    spacy_pipeline()


class AssistantCore:
    """Model, store and pipeline for one unlocked run (CLI command or terminal app)."""

    def __init__(
        self,
        settings: Settings,
        *,
        keyring: Any = None,
        model: ChatModel | None = None,
        params: SamplingParams = SamplingParams(),
        generalize: bool = False,
        k: int | None = None,
    ) -> None:
        self.settings = settings
        self.keyring = keyring
        self.params = params
        self.generalize = generalize
        self.k = k  # records an answer reads; None = the session's default
        self._model = model
        self._owns_model = model is None
        self._lock = threading.Lock()
        self._session: AssistantSession | None = None
        self._history: list[tuple[str, str]] = []
        self._store: Any = None  # opened once, shared by the sessions and the index screen
        self._embedder: Any = None
        self._loading: list[Future[Any]] = []

    def preload(self) -> None:
        """Start the slow loads at once, in threads: the local model, the embedding stack (torch and
        sentence-transformers; the model itself is chosen once the index can be read) and, with a
        remote planner, the sanitizer's NER model. `ask` waits for them; a load error surfaces there."""
        jobs: list[Callable[[], Any]] = [self.prepare_answers]
        if self.settings.keyfile.exists():
            jobs.append(_import_embedding_stack)
        if self.settings.remote_enabled:
            jobs.append(_warm_ner)
        pool = ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="preload")
        self._loading = [pool.submit(job) for job in jobs]
        pool.shutdown(wait=False)

    @property
    def timings(self) -> dict[str, float]:
        """Seconds per stage of the current conversation's last question (empty before one)."""
        return self._session.timings if self._session is not None else {}

    def _wait_for_loads(self) -> None:
        loading, self._loading = self._loading, []
        for future in loading:
            future.result()

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

    def prepare_answers(self) -> ChatModel:
        """Load the local model and evaluate the answer prompt's fixed opening (blocking: call from
        a worker), so the first answer evaluates only its records and question."""
        from assistant.pipeline.answer import COMPACT_SYSTEM

        model = self.ensure_ready()
        model.prime([Message("system", COMPACT_SYSTEM)])
        return model

    def ensure_ready(self) -> ChatModel:
        """Load the local model if needed (blocking: call from a worker)."""
        with self._lock:
            if self._model is None:
                from assistant.wiring import load_model

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
                    **({"k": self.k} if self.k is not None else {}),
                )
                self._session.history = list(self._history)
            return self._session

    def store(self, dim: int | None = None) -> Any:
        """The encrypted store, opened once and shared by every session; None before `init`."""
        with self._lock:
            if self._store is None and self.keyring is not None and self.settings.keyfile.exists():
                from assistant.pipeline.ledger import Ledger
                from assistant.wiring import open_store

                recorder = Ledger(self.settings.home, self.keyring).record_store
                self._store = open_store(self.settings, self.keyring, dim=dim, recorder=recorder)
            return self._store

    def embedder(self) -> Any:
        """The embedding model: ASSISTANT_EMBED_MODEL, else the one the open index remembers."""
        store = self._store
        with self._lock:
            if self._embedder is None:
                from assistant.wiring import embedder

                self._embedder = embedder(self.settings, store=store)
            return self._embedder

    def indexed_files(self) -> list[Any]:
        """What the index holds (`assistant index --list`), sorted by path; blocking."""
        from assistant.ingest import manifest

        store = self.store()
        if store is None:
            return []
        return sorted(manifest.load(store).values(), key=lambda f: f.path)

    def index(
        self,
        paths: Sequence[str],
        progress: Callable[[Any], None] | None = None,
        cancel: Any = None,
        options: Any = None,
    ) -> Any:
        """Encrypt and index folders and files (blocking: run in a worker); returns the summary.

        Raises:
            ConfigError: no keys yet. InputError: a path does not exist. Cancelled: `cancel` was set.
        """
        from assistant.ingest.indexer import index_paths

        store, embedder = self._index_target()
        return index_paths(
            list(paths),
            store,
            embedder,
            self.keyring,
            options=options,
            progress=progress,
            cancel=cancel,
            vocabulary=self.vocabulary(),
        )

    def _index_target(self) -> tuple[Any, Any]:
        """The store and embedder an index run writes with. An existing store opens first, so the
        embedder it remembers is used; a fresh one is created with that embedder's dimension.

        Raises:
            ConfigError: no keys yet.
        """
        from assistant.errors import ConfigError

        fresh = not self.settings.store_url and not self.settings.store_path.exists()
        store = None if fresh else self.store()
        embedder = self.embedder()
        store = store or self.store(dim=embedder.dim if fresh else None)
        if store is None:
            raise ConfigError("This data dir has no keys yet.", "Run `assistant init` first.")
        return store, embedder

    def vocabulary(self) -> Any:
        """The sealed private vocabulary of the indexed records (None before `init`)."""
        from assistant.privacy.vocabulary import PrivateVocabulary

        if self.keyring is None:
            return None
        return PrivateVocabulary.load(self.settings.home, self.keyring)

    def watch(
        self,
        paths: Sequence[str],
        on_start: Callable[[Any], None],
        on_applied: Callable[[Any], None],
        stop: threading.Event,
    ) -> int:
        """Index `paths`, then apply their changes as they happen until `stop` is set (blocking: run in
        a worker); returns the batches applied. Raises as `index` does."""
        from assistant.ingest.watch import watch_paths

        store, embedder = self._index_target()
        return watch_paths(
            list(paths),
            store,
            embedder,
            self.keyring,
            stop=stop,
            ignore=[str(self.settings.home)],
            on_start=on_start,
            on_applied=on_applied,
            vocabulary=self.vocabulary(),
        )

    def ask(
        self,
        question: str,
        *,
        use_remote: bool | None = None,
        cancel: CancelToken | None = None,
        confirm: Confirm | None = None,
    ) -> Iterator[Event]:
        """Events for one question (a blocking iterator: consume it in a worker thread)."""
        self._wait_for_loads()
        model = self.ensure_ready()
        session = self._current_session(model)
        yield from session.ask(question, use_remote=use_remote, cancel=cancel, confirm=confirm)

    def replies_for(self, outbound: Sequence[Outbound]) -> list[str]:
        """The remote's reply to each request, from the encrypted ledger ("" where none is recorded)."""
        session = self._session
        ledger = getattr(session, "ledger", None)
        if not outbound or ledger is None:
            return ["" for _ in outbound]
        entries = [e for e in ledger.entries() if e.kind == "remote"][-4 * len(outbound) :]
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

    def note(
        self,
        transcript: Any,
        options: Any = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> ClinicalNote:
        """A clinical note from a parsed transcript, on the local model only (blocking).

        The network is blocked while it runs, whichever front-end calls it: the transcript never
        leaves the device.
        """
        from assistant.notes import generate_note
        from assistant.notes.offline import network_blocked

        model = self.ensure_ready()
        with network_blocked():
            return generate_note(transcript, model, options, progress=progress)

    def conversations(self) -> ConversationStore:
        """The sealed conversation history of this data dir."""
        from assistant.conversations import ConversationStore

        if self.keyring is None:
            raise RuntimeError("conversations need the unlocked keys")
        return ConversationStore(self.settings.home / "conversations", self.keyring)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
            if self._owns_model and self._model is not None:
                self._model.close()
                self._model = None
