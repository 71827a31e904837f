"""The store's contract: what the indexer and the pipeline call, whether the store is embedded or remote.

Implementation: `encrypted_store.store.EncryptedStore` over a `StoreHost` (`encrypted_store.host`):
in-process on the data dir, or an `assistant store serve` server. Plaintext in and out on the client
side; only ciphertexts, sealed payloads, opaque ids and the client's sealed state reach the host.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class RecordIn:
    """A chunk to index. `vector` is a float32 unit vector of the store's dimension."""

    id: str
    text: str
    vector: np.ndarray
    doc: str  # opaque key of the source document (e.g. an HMAC of its path); sealed, the host never sees it
    meta: dict[str, Any] = field(default_factory=dict)  # path, title, date (ISO), source kind, offsets


@dataclass(frozen=True)
class Record:
    id: str
    text: str
    doc: str
    meta: dict[str, Any]


@dataclass(frozen=True)
class Hit:
    record: Record
    score: float  # cosine similarity (vectors are unit length)
    query: int  # index of the query that found it (first one, when several did)


@dataclass(frozen=True)
class SearchFilter:
    """Client-side filters, applied after decryption (the server never sees them)."""

    sources: tuple[str, ...] = ()  # meta["source"] values to keep; empty = all
    date_from: str | None = None  # ISO dates, inclusive; records without a date are kept
    date_to: str | None = None


class Store(Protocol):
    dim: int

    def add(self, records: Sequence[RecordIn]) -> None:
        """Encrypt and append; atomic per call (a kill leaves all or none of it)."""

    def delete(self, ids: Iterable[str]) -> int:
        """Remove records by id; returns how many existed.

        There is no delete by document: the host cannot tell which rows belong to one (the caller
        keeps each document's record ids)."""

    def search(
        self,
        queries: np.ndarray,
        k: int = 5,
        *,
        encrypted_query: bool | None = None,
        filters: SearchFilter | None = None,
    ) -> list[list[Hit]]:
        """Top-k per query row (queries: float32 (q, dim), unit rows), all rows in one pass.

        encrypted_query: None = encrypted exactly when the host is remote; False with a remote host
        is refused (InputError).

        Raises:
            StoreError: the store is unreachable or corrupt; HostIntegrityError (a StoreError) when
                the host's scores, blocks or state fail the client's checks. Tampered or rolled-back
                records are skipped and reported through `last_warnings`, never returned.
        """

    def get(self, ids: Sequence[str]) -> list[Record]:
        """Decrypted records by id (unknown ids are left out)."""

    def count(self) -> int: ...

    # A sealed key-value manifest for the indexer (path -> content hash, chunk ids, ...).
    def manifest_put(self, key: str, value: dict[str, Any]) -> None: ...

    def manifest_get_all(self) -> dict[str, dict[str, Any]]: ...

    def manifest_delete(self, key: str) -> None: ...

    def close(self) -> None: ...

    @property
    def last_warnings(self) -> list[str]:
        """Problems found by the last call that did not stop it (e.g. a tampered record)."""
        ...
