"""AssistantSession: the facade the CLI and the TUI call; one conversation, one placeholder map.

ask() runs sanitize -> plan (remote, else local) -> batched search -> local answer, and yields the
events of assistant/pipeline/events.py. Nothing leaves the device except the sanitized question, after
`confirm` (when given) and the outbound guard, and every request lands in the encrypted ledger.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from assistant.config import Settings
from assistant.errors import ConfigError, InputError
from assistant.ingest import embedder_check
from assistant.pipeline.answer import NO_RECORDS, answer_messages, compact_messages, plain_messages
from assistant.pipeline.events import Done, Event, Notice, PlanReady, Sanitized, SourcesReady, Stage
from assistant.pipeline.fusion import FusionParams
from assistant.pipeline.guard import OutboundGuard, OutboundRefused
from assistant.pipeline.ledger import Ledger
from assistant.pipeline.passages import cited, evidence
from assistant.pipeline.plan import PlanError, local_plan, plan_locally
from assistant.pipeline.remote import RemotePlanner
from assistant.pipeline.retrieval import Retrieved, retrieve
from assistant.pipeline.sanitizer import Sanitizer
from assistant.pipeline.types import Answer, Outbound, Plan, Source
from models.base import CancelToken, ChatModel, SamplingParams

Confirm = Callable[[str], "str | None"]


def _vocabulary(settings: Settings, keyring: Any) -> Any:
    """The sealed private vocabulary as a PhraseIndex (empty without keys or before any indexing)."""
    from assistant.privacy.phrases import PhraseIndex

    if keyring is None or not hasattr(keyring, "open"):
        return PhraseIndex()
    from assistant.privacy.vocabulary import PrivateVocabulary

    return PrivateVocabulary.load(settings.home, keyring).index()


class AssistantSession:
    """Conversation state: the sanitizer's placeholder map, the guard's vault, the chat history."""

    def __init__(
        self,
        settings: Settings,
        *,
        keyring: Any = None,
        model: ChatModel | None = None,
        store: Any = None,
        embedder: Any = None,
        params: SamplingParams = SamplingParams(),
        k: int = 5,
        generalize: bool = False,
        local_planning: bool = True,
    ) -> None:
        self.settings = settings
        self.keyring = keyring
        self.params = params
        self.k = k
        self.local_planning = local_planning
        self._model = model
        self._store = store
        self._embedder = embedder
        self._embedder_checked = False
        vocabulary = _vocabulary(settings, keyring)  # what the user's records say is private (issue 13)
        self.sanitizer = Sanitizer(settings.private_terms, generalize=generalize, vocabulary=vocabulary)
        self.guard = OutboundGuard(vocabulary=vocabulary)
        self.guard.add_values(settings.private_terms)
        self.ledger = Ledger(settings.home, keyring) if keyring is not None else None
        self.history: list[tuple[str, str]] = []  # (question, answer), original text: stays local
        self.sent_questions: list[str] = []  # sanitized questions already sent, for remote context
        self.lexicon: Any = None  # encrypted_store.lexical.CachedLexicon, made on first hybrid search
        self.timings: dict[str, float] = {}  # seconds per stage of the last ask(), for bench/latency.py

    @property
    def model(self) -> ChatModel:
        if self._model is None:
            from assistant.wiring import load_model

            self._model = load_model(self.settings)
        return self._model

    @property
    def store(self) -> Any:
        """The encrypted store, opened on first use; None without keys (nothing indexed yet)."""
        if self._store is None and self.keyring is not None and self.settings.keyfile.exists():
            from assistant.wiring import open_store

            recorder = self.ledger.record_store if self.ledger is not None else None
            self._store = open_store(self.settings, self.keyring, recorder=recorder)
        return self._store

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from assistant.wiring import embedder

            self._embedder = embedder(self.settings, store=self.store)
        return self._embedder

    def plan(
        self,
        question: str,
        *,
        use_remote: bool | None = None,
        confirm: Confirm | None = None,
        outbound: list[Outbound] | None = None,
    ) -> Iterator[Event]:
        """The planning half of ask(): [Sanitized], notices, PlanReady. Appends sent bodies to `outbound`."""
        question = question.strip()
        if not question:
            raise InputError("The question is empty.", 'Ask something, e.g. assistant ask "When is ..."')
        outbound = [] if outbound is None else outbound
        started = time.perf_counter()
        plan: Plan | None = None
        why_local: str | None = None
        want_remote = self.settings.remote_enabled if use_remote is None else use_remote
        if want_remote and not self.settings.remote_enabled:
            why_local = "No remote planner is configured (ASSISTANT_REMOTE_URL); planning on the device."
        elif want_remote and self.ledger is None:
            why_local = "Remote planning needs the encrypted ledger: run `assistant init` first."
        elif want_remote:
            yield Stage("sanitizing")
            start = time.perf_counter()
            sanitized = self.sanitizer.sanitize(question)
            self.timings["sanitize"] = time.perf_counter() - start
            yield Stage("planning")
            self.guard.add_values(self.sanitizer.map.values())
            yield sanitized
            plan, why_local = yield from self._remote_plan(sanitized, confirm, outbound)
        if why_local:
            yield Notice(why_local, "warning" if want_remote and self.settings.remote_enabled else "info")
        if plan is None:
            plan = yield from self._local_plan(question, self._indexed(), why_local)
        self.timings["plan"] = time.perf_counter() - started
        yield PlanReady(plan)

    def _indexed(self) -> bool:
        store = self.store
        return store is not None and store.count() > 0

    def ask(
        self,
        question: str,
        *,
        use_remote: bool | None = None,
        cancel: CancelToken | None = None,
        confirm: Confirm | None = None,
    ) -> Iterator[Event]:
        """Events for one question: [Sanitized], PlanReady, SourcesReady, TokenDelta..., Done."""
        outbound: list[Outbound] = []
        plan = Plan(False, "")
        self.timings = {}
        for event in self.plan(question, use_remote=use_remote, confirm=confirm, outbound=outbound):
            if isinstance(event, PlanReady):
                plan = event.plan
            yield event
            if cancel is not None and cancel.cancelled:
                yield Done(Answer("", plan=plan, outbound=outbound, finish_reason="cancelled"))
                return
        question = question.strip()
        records: list[Retrieved] = []
        if self._indexed():
            if not self._embedder_checked:  # same model as the index, or a ConfigError with the next step
                embedder_check.check(self.store, self.embedder)
                self._embedder_checked = True
            yield Stage("searching")
            start = time.perf_counter()
            queries = [question, *plan.sub_queries]
            records = retrieve(
                self.store,
                self.embedder,
                queries,
                k=self.k,
                encrypted_query=self.settings.encrypted_query,
                **self._hybrid(),
            )
            self.timings["search"] = time.perf_counter() - start
            for warning in getattr(self.store, "last_warnings", []) or []:
                yield Notice(warning, "warning")
        self.guard.add_records(r.text for r in records)
        sources = [r.source() for r in records]
        yield SourcesReady(tuple(sources))
        text, finish = yield from self._answer(question, plan, records, cancel)
        sources = with_evidence(question, text, records, sources)
        self.history.append((question, text))
        yield Done(Answer(text, sources=sources, plan=plan, outbound=outbound, finish_reason=finish))

    def _hybrid(self) -> dict[str, Any]:
        """retrieve()'s lexical arguments: the cached on-device BM25 index, unless dense is chosen."""
        if self.settings.retrieval != "hybrid":
            return {}
        if self.lexicon is None:
            try:
                import Stemmer  # noqa: F401  (PyStemmer: the lexical side's stemmer)
            except ImportError as exc:
                raise ConfigError(
                    "Hybrid search needs PyStemmer, which is not installed.",
                    "pip install 'private-assistant[lexical]', or set ASSISTANT_RETRIEVAL=dense.",
                ) from exc
            from encrypted_store.lexical import CachedLexicon

            self.lexicon = CachedLexicon()
        return {"lexicon": self.lexicon, "fusion": FusionParams(per_doc=self.settings.retrieval_per_doc)}

    def _index_idf(self) -> Any:
        """Term rarity over the whole lexical index the search just used (no new store request)."""
        index = self.lexicon.last if self.lexicon is not None else None
        return index.idf if index is not None else None

    def _remote_plan(
        self, sanitized: Sanitized, confirm: Confirm | None, outbound: list[Outbound]
    ) -> Iterator[Event]:
        """(plan or None, why the local planner is used) ; a generator so it can yield notices."""
        text: str | None = sanitized.text
        if confirm is not None:
            text = confirm(sanitized.text)
        if text is None:
            return None, "Remote step cancelled; planning on the device."
        planner = RemotePlanner(self.settings, self.guard, self.ledger)
        try:
            guidance, queries = planner.plan(text, self.sent_questions)
        except OutboundRefused as exc:
            return None, f"{exc.title} {exc.next_step} Planning on the device instead."
        except PlanError as exc:
            return None, f"{exc.title} Planning on the device instead."
        finally:
            outbound.extend(planner.sent)
        self.sent_questions.append(text)
        restore = self.sanitizer.restore
        yield from ()
        return Plan(True, restore(guidance), tuple(restore(q) for q in queries)), None

    def _local_plan(self, question: str, indexed: bool, notice: str | None) -> Iterator[Event]:
        if not (indexed and self.local_planning and plan_locally(self.settings.local_plan)):
            return Plan(False, "", (), notice)
        yield Stage("planning")
        history = [q for q, _ in self.history]
        try:
            guidance, queries = local_plan(self.model, question, history)
        except PlanError as exc:
            yield Notice(f"{exc.title} Searching with the question alone.", "info")
            return Plan(False, "", (), notice)
        return Plan(False, guidance, queries, notice)

    def _answer(
        self, question: str, plan: Plan, records: list[Retrieved], cancel: CancelToken | None
    ) -> Iterator[Event]:
        yield Stage("reading", len(records))
        budget = self.settings.context_tokens
        if records and budget > 0:
            messages, _ = compact_messages(
                question,
                plan.guidance,
                records,
                self.history,
                budget=budget,
                count_tokens=self.model.count_tokens,
                queries=plan.sub_queries,
                weigh=self._index_idf(),
            )
        elif records:  # ASSISTANT_CONTEXT_TOKENS=0: whole records, the older prompt
            messages = answer_messages(question, plan.guidance, records, self.history)
        else:  # nothing indexed: the local model alone, and the user is told so
            yield Notice(NO_RECORDS, "info")
            messages = plain_messages(question, self.history)
        parts: list[str] = []
        finish = "stop"
        for delta in self.model.stream(messages, self.params, cancel=cancel):
            parts.append(delta.text)
            finish = delta.finish_reason or finish
            yield delta
        return "".join(parts).strip(), finish

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def with_evidence(
    question: str, answer: str, records: list[Retrieved], sources: list[Source]
) -> list[Source]:
    """Sources with the sentences of each cited record that support the answer; others get none."""
    numbers = cited(answer, len(records)) if answer else []
    chosen = evidence(question, answer, [records[n - 1].text for n in numbers])
    found = dict(zip(numbers, chosen, strict=True))
    return [replace(s, evidence=found.get(n, ())) for n, s in enumerate(sources, 1)]
