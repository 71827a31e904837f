"""Headless indexing: files -> chunks -> embeddings -> encrypted store, incremental and resumable.

`index_paths` is what `assistant index` and the TUI's index screen both call. Only new and changed
files (by SHA-256 of their content, plus the chunking and model settings) are read into the store;
files that vanished or can no longer be read lose their chunks. Files are written in batches, each
guarded by a journal entry in the manifest (see `manifest.recover`), so a kill at any point leaves a
consistent store and the next run carries on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.errors import Cancelled
from assistant.ingest import manifest
from assistant.ingest.chunking import DEFAULT_MAX_TOKENS, DEFAULT_OVERLAP, chunk_document
from assistant.ingest.discover import DEFAULT_MAX_BYTES, check_roots, discover, read_bytes
from assistant.ingest.manifest import DocKeys, IndexedFile, KeyringLike
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
    chunks_added: int = 0
    chunks_removed: int = 0
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
            "files_skipped": len(self.skipped),
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "chunks_added": self.chunks_added,
            "chunks_removed": self.chunks_removed,
            "seconds": round(self.seconds, 3),
            "stages": {k: round(v, 3) for k, v in self.stages.items()},
        }


@dataclass
class _Pending:
    entry: IndexedFile
    chunks: list[Chunk]
    replaces: bool  # an older version of the file is in the store


def fingerprint(embedder: EmbedderLike, options: IndexOptions) -> str:
    return f"v{READER_VERSION}|{embedder.name}|{options.max_tokens}|{options.overlap}"


def record_id(doc: str, sha256: str, index: int) -> str:
    """Opaque, unique per content version: the doc key is an HMAC, the hash prefix tells versions apart."""
    return f"{doc[:20]}.{sha256[:8]}.{index}"


class _Run:
    def __init__(
        self,
        store: Store,
        embedder: EmbedderLike,
        keyring: KeyringLike,
        options: IndexOptions,
        progress: Callable[[IndexProgress], None] | None,
        cancel: CancelLike | None,
    ) -> None:
        self.store, self.embedder, self.options = store, embedder, options
        self.doc_key = DocKeys(keyring)
        self.progress, self.cancel = progress, cancel
        self.summary = IndexSummary()
        self.started = time.perf_counter()
        self.fingerprint = fingerprint(embedder, options)
        self.batch: list[_Pending] = []
        self.batch_chunks = 0
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
        return _Pending(entry, chunks, replaces=known is not None)

    def flush(self) -> None:
        """Embed and write the batch: journal, old chunks out, new chunks in, manifest, journal off."""
        if not self.batch:
            return
        texts = [c.text for p in self.batch for c in p.chunks]
        t0 = time.perf_counter()
        vectors = self.embedder.embed(texts)
        t1 = time.perf_counter()
        records, row = [], 0
        for item in self.batch:
            for chunk in item.chunks:
                rid = record_id(item.entry.doc, item.entry.sha256, chunk.index)
                records.append(RecordIn(rid, chunk.text, vectors[row], item.entry.doc, chunk.store_meta()))
                row += 1
        manifest.begin_batch(self.store, [p.entry.doc for p in self.batch])
        for item in self.batch:
            if item.replaces:
                self.summary.chunks_removed += self.store.delete_doc(item.entry.doc)
        self.store.add(records)
        for item in self.batch:
            # the chunks' term counts ride in the sealed manifest value: replaced and dropped with it
            lex = lexical.doc_value(
                (record_id(item.entry.doc, item.entry.sha256, c.index), c.text) for c in item.chunks
            )
            self.store.manifest_put(item.entry.doc, {**item.entry.to_value(), lexical.LEX_KEY: lex})
        manifest.end_batch(self.store)
        self.summary.stages["embed"] += t1 - t0
        self.summary.stages["store"] += time.perf_counter() - t1
        self.summary.files_indexed += len(self.batch)
        self.summary.chunks_added += len(records)
        self.batch, self.batch_chunks = [], 0
        self.tell()


def index_paths(
    paths: Sequence[str],
    store: Store,
    embedder: EmbedderLike,
    keyring: KeyringLike,
    *,
    options: IndexOptions | None = None,
    progress: Callable[[IndexProgress], None] | None = None,
    cancel: CancelLike | None = None,
) -> IndexSummary:
    """Index files and folders into `store`; only what changed since the last run is embedded.

    Raises:
        InputError: a path does not exist.
        Cancelled: `cancel` was set; everything stored so far is consistent and kept.
        StoreError, ModelError: from the store or the embedder.
    """
    run = _Run(store, embedder, keyring, options or IndexOptions(), progress, cancel)
    summary = run.summary
    roots = check_roots(paths)
    known = manifest.load(store)
    summary.files_recovered, removed = manifest.recover(store, known)
    summary.chunks_removed += removed
    t0 = time.perf_counter()
    found = list(discover(roots))
    summary.stages["read"] += time.perf_counter() - t0
    run.files_total = len(found)
    live: set[str] = set()
    for item in found:
        if _stopped(cancel):
            raise Cancelled("Indexing stopped.", "Run the same command again to continue where it stopped.")
        summary.files_seen += 1
        run.files_done += 1
        if isinstance(item, Skipped):
            summary.skipped.append(item)
            continue
        t0 = time.perf_counter()
        result = run.read(item.path, known.get(run.doc_key(item.path)))
        summary.stages["read"] += time.perf_counter() - t0
        if isinstance(result, Skipped):
            summary.skipped.append(result)
        elif result is None:
            summary.files_unchanged += 1
            live.add(item.path)
        else:
            live.add(item.path)
            run.batch.append(result)
            run.batch_chunks += len(result.chunks)
            if run.batch_chunks >= run.options.batch_chunks:
                run.flush()
        run.tell(item.path)
    run.flush()
    t0 = time.perf_counter()
    for entry in known.values():
        if entry.path not in live and manifest.under(entry.path, roots):
            summary.chunks_removed += store.delete_doc(entry.doc)
            store.manifest_delete(entry.doc)
            summary.files_removed += 1
    summary.stages["store"] += time.perf_counter() - t0
    summary.seconds = time.perf_counter() - run.started
    return summary
