"""The indexer's per-file state, kept in the store's sealed manifest, and crash recovery.

Manifest keys are HMACs of the file path (`doc_key`), so the store host never sees a path; the sealed
value holds the path, content hash, chunk count and the records' ids. A file leaves the store by its
record ids (`record_ids`), never by document: the host cannot tell which rows share a file. While a
batch of files is being written, a journal entry names its documents and every record id it may
write or remove: if the process dies before the batch is done, the next run removes whatever part of
that batch reached the store (`recover`), so a kill never leaves stray or half-indexed files behind.
The roots that were indexed or watched, and when each was last in sync, are one more sealed entry
(`load_roots`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from encrypted_store.api import Store
from encrypted_store.lexical import LEX_KEY

JOURNAL_KEY = "indexer/journal"
ROOTS_KEY = "indexer/roots"
DOC_KEY_PURPOSE = "doc-key"
DELETE_AT_ONCE = 10_000  # record ids per delete request (a store server takes 100,000 items at most)


class KeyringLike(Protocol):
    def subkey(self, purpose: str) -> bytes: ...


class DocKeys:
    """path -> opaque document key (HMAC-SHA256 under the keyring's "doc-key" subkey)."""

    def __init__(self, keyring: KeyringLike) -> None:
        self._key = keyring.subkey(DOC_KEY_PURPOSE)

    def __call__(self, path: str) -> str:
        return hmac.new(self._key, path.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class IndexedFile:
    """One file as the manifest remembers it (what `assistant index --list` shows)."""

    doc: str
    path: str
    sha256: str
    size: int
    chunks: int
    source: str
    indexed_at: str
    fingerprint: str
    ids: tuple[str, ...] = ()  # the stored record ids (from the value's lexical rows), if it has them

    @classmethod
    def from_value(cls, doc: str, value: dict[str, Any]) -> IndexedFile:
        return cls(
            doc=doc,
            path=str(value.get("path", "")),
            sha256=str(value.get("sha256", "")),
            size=int(value.get("size", 0)),
            chunks=int(value.get("chunks", 0)),
            source=str(value.get("source", "")),
            indexed_at=str(value.get("indexed_at", "")),
            fingerprint=str(value.get("fingerprint", "")),
            ids=tuple(str(row[0]) for row in value.get(LEX_KEY) or () if isinstance(row, list) and row),
        )

    def to_value(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "size": self.size,
            "chunks": self.chunks,
            "source": self.source,
            "indexed_at": self.indexed_at,
            "fingerprint": self.fingerprint,
        }

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.to_value().items() if k != "fingerprint"}


def record_id(doc: str, sha256: str, index: int) -> str:
    """Opaque, unique per content version: the doc key is an HMAC, the hash prefix tells versions apart."""
    return f"{doc[:20]}.{sha256[:8]}.{index}"


def record_ids(entry: IndexedFile) -> list[str]:
    """The ids of every record of one indexed file.

    The ids the manifest value lists win: after `assistant init --rekey` the document key changed
    but the records kept their ids. Entries written before the lexical rows existed derive them.
    """
    return list(entry.ids) or [record_id(entry.doc, entry.sha256, i) for i in range(entry.chunks)]


def delete_records(store: Store, ids: Sequence[str]) -> int:
    """Delete records by id, `DELETE_AT_ONCE` per request; returns how many existed."""
    ids = list(dict.fromkeys(ids))
    return sum(store.delete(ids[i : i + DELETE_AT_ONCE]) for i in range(0, len(ids), DELETE_AT_ONCE))


def load(store: Store) -> dict[str, IndexedFile]:
    """Indexed files by document key (the journal entry left out)."""
    return {
        key: IndexedFile.from_value(key, value)
        for key, value in store.manifest_get_all().items()
        if key not in (JOURNAL_KEY, ROOTS_KEY) and "path" in value
    }


def begin_batch(store: Store, docs: Sequence[str], ids: Sequence[str]) -> None:
    """Journal a batch: the documents it touches and every record id it may write or remove."""
    store.manifest_put(JOURNAL_KEY, {"docs": list(docs), "ids": list(ids)})


def end_batch(store: Store) -> None:
    store.manifest_delete(JOURNAL_KEY)


def recover(store: Store, done: dict[str, IndexedFile] | None = None) -> tuple[int, int]:
    """Undo a batch that a kill interrupted; returns (files rolled back, chunks removed).

    Files of the batch are forgotten entirely (chunks and manifest entry), so the run that follows
    indexes them afresh, or drops them if they are gone.
    """
    journal = store.manifest_get_all().get(JOURNAL_KEY)
    if not journal:
        return 0, 0
    docs = [str(d) for d in journal.get("docs", [])]
    ids = [str(i) for i in journal["ids"]] if "ids" in journal else _journal_v1_ids(store, docs)
    chunks = delete_records(store, ids)
    for doc in docs:
        store.manifest_delete(doc)
        if done is not None:
            done.pop(doc, None)
    end_batch(store)
    return len(docs), chunks


def _journal_v1_ids(store: Store, docs: Sequence[str]) -> list[str]:
    """A journal written before it listed record ids names documents only: the batch's records are
    found by opening every record (each one's sealed value names its document); a store that cannot
    list its records gives up the ids its manifest entries know (a new version the kill kept out of
    the manifest stays behind, unless the same content is indexed again: the same ids replace it)."""
    wanted = set(docs)
    entries = load(store)
    ids = [rid for doc in docs if doc in entries for rid in record_ids(entries[doc])]
    records = getattr(store, "records", None)
    if records is not None:
        ids += [rec.id for rec in records() if rec.doc in wanted]
    return list(dict.fromkeys(ids))


def remove(store: Store, entries: Sequence[IndexedFile]) -> int:
    """Take indexed files out of the store: their chunks, then their manifest entries; returns the
    chunks removed.

    `forget` and a run that finds files gone come through here (a batch of the indexer or the watcher
    deletes its replaced, renamed and vanished files' records the same way). Delete requests name the
    record ids of all `entries` together (up to `DELETE_AT_ONCE` each): the host never sees a document
    key, and sees rows leave together as it saw them arrive together.
    """
    chunks = delete_records(store, [rid for entry in entries for rid in record_ids(entry)])
    for entry in entries:
        store.manifest_delete(entry.doc)
    return chunks


def under(path: str, roots: Sequence[str]) -> bool:
    """Is `path` one of `roots` or inside one of them?"""
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def forget(store: Store, roots: Sequence[str]) -> tuple[list[IndexedFile], int]:
    """Remove every indexed file at or under `roots`; returns the files and the chunks removed."""
    gone = [f for f in load(store).values() if under(f.path, roots)]
    chunks = remove(store, gone)
    listed = load_roots(store)
    kept = [r for r in listed if not under(r.path, roots)]
    if len(kept) < len(listed):
        store.manifest_put(ROOTS_KEY, {"roots": [r.to_value() for r in kept]})
    return gone, chunks


@dataclass(frozen=True)
class IndexedRoot:
    """A folder or file the user indexed or watches, and when the index last matched it."""

    path: str
    last_sync: str  # ISO time, UTC
    files: int  # indexed files under it at that time
    watching: bool  # a watcher was following it (stays true after a kill until the next run)

    def to_value(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "last_sync": self.last_sync,
            "files": self.files,
            "watching": self.watching,
        }


def load_roots(store: Store) -> list[IndexedRoot]:
    """The indexed roots, sorted by path (from the sealed roots entry)."""
    return _roots(store.manifest_get_all().get(ROOTS_KEY))


def _roots(value: dict[str, Any] | None) -> list[IndexedRoot]:
    roots = [
        IndexedRoot(
            str(r.get("path", "")),
            str(r.get("last_sync", "")),
            int(r.get("files", 0)),
            bool(r.get("watching")),
        )
        for r in (value or {}).get("roots", [])
        if isinstance(r, dict) and r.get("path")
    ]
    return sorted(roots, key=lambda r: r.path)


def mark_synced(store: Store, paths: Sequence[str], *, watching: bool) -> list[IndexedRoot]:
    """Record that the index matches `paths` now; other roots keep their entries. Returns all roots."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    entries = store.manifest_get_all()  # one read (and decryption) for the files and the roots
    files = [str(v["path"]) for k, v in entries.items() if k not in (JOURNAL_KEY, ROOTS_KEY) and "path" in v]
    roots = {r.path: r for r in _roots(entries.get(ROOTS_KEY))}
    for path in paths:
        roots[path] = IndexedRoot(path, now, sum(1 for f in files if under(f, [path])), watching)
    store.manifest_put(ROOTS_KEY, {"roots": [r.to_value() for r in roots.values()]})
    return sorted(roots.values(), key=lambda r: r.path)


def stop_watching(store: Store, paths: Sequence[str]) -> None:
    """A watcher stopped cleanly: its roots keep their last sync time and lose the watching mark."""
    roots = [replace(r, watching=False) if r.path in paths else r for r in load_roots(store)]
    store.manifest_put(ROOTS_KEY, {"roots": [r.to_value() for r in roots]})
