"""Headless indexing: files -> chunks -> embeddings -> encrypted store, incremental and resumable.

`index_paths` is what `assistant index` and the TUI's index screen both call. Only new and changed
files (by SHA-256 of their content, plus the chunking and model settings) are read into the store;
files that vanished or can no longer be read lose their chunks. Files are written in batches, each
guarded by a journal entry in the manifest (see `manifest.recover`), so a kill at any point leaves a
consistent store and the next run carries on. `apply_changes` is the watcher's path: the same reads
and batches for the paths that changed, with deletions inside the journaled batch. A file whose
content is already indexed under a vanished path (a rename) moves: its vectors are reused, and so
are those of unchanged chunks of an edited file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np

from assistant.errors import Cancelled
from assistant.ingest import embedder_check, manifest
from assistant.ingest.chunking import DEFAULT_MAX_TOKENS, DEFAULT_OVERLAP, chunk_document
from assistant.ingest.discover import (
    DEFAULT_MAX_BYTES,
    Candidate,
    check_roots,
    discover,
    read_bytes,
)
from assistant.ingest.manifest import DocKeys, IndexedFile, KeyringLike, record_id, record_ids
from assistant.ingest.readers import SkipFile, read_document
from assistant.ingest.types import Chunk, Skipped
from encrypted_store import lexical
from encrypted_store.api import RecordIn, Store

READER_VERSION = 2  # bump when readers, chunking or lexical stats change what is stored: files get re-indexed


class EmbedderLike(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


CancelLike = Any  # a threading.Event (is_set) or a models.base.CancelToken (cancelled)


def _stopped(cancel: CancelLike | None) -> bool:
    if cancel is None:
        return False
    flag = getattr(cancel, "cancelled", None)
    return bool(flag) if flag is not None else bool(cancel.is_set())


@dataclass(frozen=True)
class IndexOptions:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_tokens: int = DEFAULT_MAX_TOKENS
    overlap: int = DEFAULT_OVERLAP
    batch_chunks: int = 256  # chunks embedded and written together (one store transaction)


@dataclass(frozen=True)
class IndexProgress:
    """Sent to the progress callback after each file is read and after each batch is stored."""

    files_done: int
    files_total: int
    chunks_added: int
    elapsed: float
    path: str = ""


@dataclass
class IndexSummary:
    files_seen: int = 0
    files_indexed: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    files_recovered: int = 0  # rolled back from a run that was killed mid-batch
    files_moved: int = 0  # renamed or moved: records moved, nothing re-embedded
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_reused: int = 0  # vectors taken over from the file's previous version or old path
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=lambda: {"read": 0.0, "embed": 0.0, "store": 0.0})

    def to_json(self) -> dict[str, Any]:
        """The `assistant index --json` shape."""
        return {
            "files_seen": self.files_seen,
            "files_indexed": self.files_indexed,
            "files_unchanged": self.files_unchanged,
            "files_removed": self.files_removed,
            "files_recovered": self.files_recovered,
            "files_moved": self.files_moved,
            "files_skipped": len(self.skipped),
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "chunks_added": self.chunks_added,
            "chunks_removed": self.chunks_removed,
            "chunks_reused": self.chunks_reused,
            "seconds": round(self.seconds, 3),
            "stages": {k: round(v, 3) for k, v in self.stages.items()},
        }


@dataclass
class _Pending:
    entry: IndexedFile
    chunks: list[Chunk]
    replaces: bool  # an older version of the file is in the store
    previous: IndexedFile | None = None  # that older version
    moved_from: IndexedFile | None = None  # a vanished file with the same content (a rename)


class _Exporter(Protocol):
    def export(self, ids: Sequence[str]) -> list[RecordIn]: ...


def fingerprint(embedder: EmbedderLike, options: IndexOptions) -> str:
    return f"v{READER_VERSION}|{embedder.name}|{options.max_tokens}|{options.overlap}"


class IndexRun:
    """One indexing pass: what it read, the batch being built, and its summary."""

    def __init__(
        self,
        store: Store,
        embedder: EmbedderLike,
        keyring: KeyringLike,
        options: IndexOptions,
        progress: Callable[[IndexProgress], None] | None,
        cancel: CancelLike | None,
        vocabulary: Any = None,
    ) -> None:
        self.store, self.embedder, self.options = store, embedder, options
        self.vocabulary = vocabulary  # assistant.privacy.vocabulary.PrivateVocabulary, or None
        self.doc_key = DocKeys(keyring)
        self.progress, self.cancel = progress, cancel
        self.summary = IndexSummary()
        self.started = time.perf_counter()
        self.fingerprint = fingerprint(embedder, options)
        self.batch: list[_Pending] = []
        self.batch_chunks = 0
        self.gone: list[IndexedFile] = []  # removals that go into the next journaled batch
        self.missing: dict[str, list[IndexedFile]] = {}  # vanished files by content hash: rename sources
        self.moved: set[str] = set()  # docs of vanished files a rename took over
        self.files_total = 0
        self.files_done = 0

    def tell(self, path: str = "") -> None:
        if self.progress is not None:
            elapsed = time.perf_counter() - self.started
            self.progress(
                IndexProgress(self.files_done, self.files_total, self.summary.chunks_added, elapsed, path)
            )

    def read(self, path: str, known: IndexedFile | None) -> _Pending | Skipped | None:
        """Chunks of a new or changed file; None when it is unchanged."""
        data = read_bytes(path, self.options.max_bytes)
        if isinstance(data, Skipped):
            return data
        sha = hashlib.sha256(data).hexdigest()
        if known and known.sha256 == sha and known.fingerprint == self.fingerprint:
            return None
        try:
            doc = read_document(Path(path), data)
        except SkipFile as exc:
            return Skipped(path, exc.reason)
        chunks = chunk_document(doc, max_tokens=self.options.max_tokens, overlap=self.options.overlap)
        if not chunks:
            return Skipped(path, "no text")
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        entry = IndexedFile(
            self.doc_key(path), path, sha, len(data), len(chunks), doc.source, now, self.fingerprint
        )
        moved = None
        if known is None and self.missing.get(sha):
            moved = self.missing[sha].pop()  # same content under a path that is gone: a rename
            self.moved.add(moved.doc)
        return _Pending(entry, chunks, replaces=known is not None, previous=known, moved_from=moved)

    def consider(self, item: Candidate | Skipped, known: dict[str, IndexedFile], live: set[str]) -> None:
        """Read one discovered file into the batch (or count it unchanged or skipped); flush when full."""
        summary = self.summary
        summary.files_seen += 1
        self.files_done += 1
        if isinstance(item, Skipped):
            summary.skipped.append(item)
            return
        t0 = time.perf_counter()
        result = self.read(item.path, known.get(self.doc_key(item.path)))
        summary.stages["read"] += time.perf_counter() - t0
        if isinstance(result, Skipped):
            summary.skipped.append(result)
        elif result is None:
            summary.files_unchanged += 1
            live.add(item.path)
        else:
            live.add(item.path)
            self.batch.append(result)
            self.batch_chunks += len(result.chunks)
            if self.batch_chunks >= self.options.batch_chunks:
                self.flush()
        self.tell(item.path)

    def _vectors(self, texts: list[str]) -> np.ndarray:
        """Embeddings for `texts`, reusing the stored vectors of identical chunk texts of the batch's
        previous versions and rename sources (same model and chunking), embedding only the rest."""
        old = [
            e
            for p in self.batch
            for e in (p.previous, p.moved_from)
            if e is not None and e.fingerprint == self.fingerprint
        ]
        known: dict[str, np.ndarray] = {}
        if old and hasattr(self.store, "export"):
            ids = [rid for e in old for rid in record_ids(e)]
            known = {r.text: np.asarray(r.vector) for r in cast(_Exporter, self.store).export(ids)}
        todo = list(dict.fromkeys(t for t in texts if t not in known))
        if todo:
            known.update(zip(todo, self.embedder.embed(todo), strict=True))
        self.summary.chunks_reused += sum(1 for t in texts if t not in todo)
        return np.stack([known[t] for t in texts]) if texts else np.zeros((0, self.store.dim), np.float32)

    def flush(self) -> None:
        """Embed and write the batch: journal, old chunks out, new chunks in, manifest, journal off.

        Renamed files' old entries and the removals in `gone` are part of the same journaled batch.
        """
        if not self.batch and not self.gone:
            return
        texts = [c.text for p in self.batch for c in p.chunks]
        t0 = time.perf_counter()
        vectors = self._vectors(texts)
        t1 = time.perf_counter()
        records, row = [], 0
        for item in self.batch:
            for chunk in item.chunks:
                rid = record_id(item.entry.doc, item.entry.sha256, chunk.index)
                records.append(RecordIn(rid, chunk.text, vectors[row], item.entry.doc, chunk.store_meta()))
                row += 1
        moved = [p.moved_from for p in self.batch if p.moved_from is not None]
        docs = [p.entry.doc for p in self.batch] + [e.doc for e in moved + self.gone]
        old = [p.previous for p in self.batch if p.replaces and p.previous is not None]
        # previous versions, renamed and vanished files leave by record id, in one delete request
        old_ids = [rid for e in old + moved + self.gone for rid in record_ids(e)]
        manifest.begin_batch(self.store, docs, [r.id for r in records] + old_ids)
        self.summary.chunks_removed += manifest.delete_records(self.store, old_ids)
        for entry in moved + self.gone:
            self.store.manifest_delete(entry.doc)
        if records:
            self.store.add(records)
        for item in self.batch:
            # the chunks' term counts ride in the sealed manifest value: replaced and dropped with it
            lex = lexical.doc_value(
                (record_id(item.entry.doc, item.entry.sha256, c.index), c.text, _lexical_unit(c))
                for c in item.chunks
            )
            self.store.manifest_put(item.entry.doc, {**item.entry.to_value(), lexical.LEX_KEY: lex})
        manifest.end_batch(self.store)
        if self.vocabulary is not None:  # what these documents say is private, sealed (issue 13)
            self.vocabulary.forget_documents([e.doc for e in moved + self.gone])
            self.vocabulary.update_documents(
                (p.entry.doc, "\n\n".join(c.text for c in p.chunks)) for p in self.batch
            )
        self.summary.stages["embed"] += t1 - t0
        self.summary.stages["store"] += time.perf_counter() - t1
        self.summary.files_indexed += len(self.batch) - len(moved)
        self.summary.files_moved += len(moved)
        self.summary.files_removed += len(self.gone)
        self.summary.chunks_added += len(records)
        self.batch, self.batch_chunks, self.gone = [], 0, []
        self.tell()

    def read_all(
        self, paths: Sequence[str], known: dict[str, IndexedFile], scope: Sequence[str], stopped: Cancelled
    ) -> set[str]:
        """Discover `paths` and consider every file found (raising `stopped` when cancelled); returns
        the paths still there. Vanished files under `scope` become rename sources."""
        t0 = time.perf_counter()
        found = list(discover(paths))
        self.summary.stages["read"] += time.perf_counter() - t0
        self.files_total = len(found)
        self.expect_missing(known, {c.path for c in found if isinstance(c, Candidate)}, scope)
        live: set[str] = set()
        for item in found:
            if _stopped(self.cancel):
                raise stopped
            self.consider(item, known, live)
        return live

    def expect_missing(self, known: dict[str, IndexedFile], present: set[str], scope: Sequence[str]) -> None:
        """Files indexed under `scope` that are no longer there: a new file with one's content is a rename."""
        for entry in known.values():
            if entry.path not in present and manifest.under(entry.path, scope):
                self.missing.setdefault(entry.sha256, []).append(entry)


COLLECTIONS = {"calendar", "contact", "email", "record"}  # files of independent items


def _lexical_unit(chunk: Any) -> str:
    """The item a chunk belongs to in a file of independent items (BM25 ranks items there)."""
    if chunk.source not in COLLECTIONS:
        return ""
    return f"{chunk.title or ''}|{chunk.date or ''}"


def index_paths(
    paths: Sequence[str],
    store: Store,
    embedder: EmbedderLike,
    keyring: KeyringLike,
    *,
    options: IndexOptions | None = None,
    progress: Callable[[IndexProgress], None] | None = None,
    cancel: CancelLike | None = None,
    vocabulary: Any = None,
) -> IndexSummary:
    """Index files and folders into `store`; only what changed since the last run is embedded.

    Raises:
        InputError: a path does not exist.
        Cancelled: `cancel` was set; everything stored so far is consistent and kept.
        StoreError, ModelError: from the store or the embedder.
    """
    run = IndexRun(store, embedder, keyring, options or IndexOptions(), progress, cancel, vocabulary)
    summary = run.summary
    roots = check_roots(paths)
    embedder_check.remember(store, embedder)  # the same model as before, sealed with the index
    known = manifest.load(store)
    summary.files_recovered, removed = manifest.recover(store, known)
    summary.chunks_removed += removed
    stopped = Cancelled("Indexing stopped.", "Run the same command again to continue where it stopped.")
    live = run.read_all(roots, known, roots, stopped)
    run.flush()
    t0 = time.perf_counter()
    gone = [
        e
        for e in known.values()
        if e.path not in live and e.doc not in run.moved and manifest.under(e.path, roots)
    ]
    if gone:
        summary.chunks_removed += manifest.remove(store, gone)
        summary.files_removed += len(gone)
        if vocabulary is not None:
            vocabulary.forget_documents([e.doc for e in gone])
    manifest.mark_synced(store, roots, watching=False)
    summary.stages["store"] += time.perf_counter() - t0
    summary.seconds = time.perf_counter() - run.started
    return summary
