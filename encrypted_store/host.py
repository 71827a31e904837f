"""The store host's contract (`StoreHost`): what an untrusted machine does for the client, keyless.

Three things follow it: `backend.LocalHost` (SQLite in the data dir), `client.HttpHost` (a remote
`assistant store serve`) and the server, which dispatches HTTP calls over `HOST_METHODS` onto a
LocalHost. A host only ever sees HMAC tags, padded AES-GCM blobs, CKKS ciphertexts and the client's
sealed state blob; the client verifies everything a host returns (`encrypted_store.verify`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from encrypted_store import wire

# (counter, sealed blob): the client's state at write `counter`; a host keeps the latest one and
# refuses a write whose counter is not its own + 1 (two writers), without being able to read it.
StateBlob = tuple[int, bytes]


@dataclass(frozen=True)
class Row:
    tag: bytes
    doc: bytes  # an opaque per-row value (format 3: an HMAC of the tag): no two rows share one
    pos: int | None
    payload: bytes


@dataclass(frozen=True)
class PlainQuery:
    """Quantized queries as digit columns: weights (D, Q*L), column q*L + l is digit l of query q."""

    weights: np.ndarray
    queries: int
    levels: int
    radix_bits: int


@dataclass(frozen=True)
class ScanResult:
    """One consistent snapshot of the host: scores of every block, its pending rows, its state."""

    blocks: np.ndarray  # (nb,) int64 block ids
    cts: np.ndarray  # (nb, Q, size, N) uint64 result ciphertexts
    pending: list[Row]
    state: StateBlob | None


class StoreHost(Protocol):
    """Keyless storage and compute. Nothing a host returns is trusted by the client.

    `remote` is True when the host runs on another machine: the client then never sends a
    plaintext query. Writes carry the client's next sealed state and are atomic with it.
    """

    remote: bool

    def info(self) -> dict[str, Any]:
        """Public parameters (`meta`) and counts; the client uses it for parameters only."""

    def setup(self, meta: dict[str, Any]) -> dict[str, Any]:
        """Record public parameters missing so far (never overwrite; only `format` may rise, once the
        client migrated the store); returns `info()`."""

    def state(self) -> StateBlob | None:
        """The latest client state blob written, or None for a store that has none yet."""

    def append(self, rows: list[tuple[bytes, bytes, bytes]], state: StateBlob) -> None:
        """Insert (tag, doc, payload) rows as pending (pos NULL), replacing rows with the same tag."""

    def delete(self, tags: list[bytes], state: StateBlob) -> int:
        """Remove rows by tag; returns how many existed."""

    def fetch(self, tags: list[bytes] | None = None, positions: list[int] | None = None) -> list[Row]:
        """Rows by tag or by position (any order; missing ones left out)."""

    def block_rows(self, block: int) -> list[Row]:
        """Rows placed in one block, by position."""

    def write_block(
        self, block: int, data: bytes, placed: list[tuple[bytes, bytes, int, bytes]], state: StateBlob
    ) -> None:
        """Store (or replace) a block and make `placed` (tag, doc, pos, payload) its only rows."""

    def drop_block(self, block: int, released: list[tuple[bytes, bytes]], state: StateBlob) -> None:
        """Delete a block; `released` (tag, payload) rows become pending, its other rows are deleted."""

    def scan_plain(self, query: PlainQuery) -> ScanResult:
        """Score every block against plaintext digit columns (the host learns the query)."""

    def scan_encrypted(self, enc: np.ndarray, seeds: list[bytes] | None = None) -> ScanResult:
        """Score every block against (Q, D, 2, N) query ciphertexts (the host learns nothing of them).

        With `seeds`, enc is (Q, D, N): each query's c0 only; its c1 is `uniform_from_seed(seeds[q])`.
        """

    def manifest_put(self, tag: bytes, value: bytes) -> None: ...

    def manifest_all(self) -> list[tuple[bytes, bytes]]: ...

    def manifest_delete(self, tag: bytes) -> None: ...

    def vacuum(self) -> None: ...

    def close(self) -> None: ...


# The operations a server exposes: every protocol method but close (the server owns its host).
HOST_METHODS = tuple(
    name
    for name, value in vars(StoreHost).items()
    if callable(value) and not name.startswith("_") and name != "close"
)


# ---- a generic, typed encoding of arguments and results, shared by client and server ---------------
def encode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Python value -> JSON-able value; bytes and arrays and the host's dataclasses are tagged."""
    if isinstance(value, bytes):
        return {"$b": wire.b64(value)}
    if isinstance(value, np.ndarray):
        name = f"a{len(arrays)}"
        arrays[name] = value
        return {"$a": name}
    if isinstance(value, Row | PlainQuery | ScanResult):
        fields = {k: encode(v, arrays) for k, v in vars(value).items()}
        return {"$" + type(value).__name__: fields}
    if isinstance(value, list | tuple):
        return [encode(v, arrays) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v, arrays) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.integer):
        return int(value)
    raise TypeError(f"cannot send a {type(value).__name__}")


_TYPES = {"$Row": Row, "$PlainQuery": PlainQuery, "$ScanResult": ScanResult}


def decode(value: Any, arrays: dict[str, np.ndarray], depth: int = 0) -> Any:
    """Inverse of `encode`; raises ValueError/KeyError/TypeError on anything else."""
    if depth > 16:  # no protocol value nests deeper
        raise ValueError("value nested too deeply")
    if isinstance(value, list):
        return [decode(v, arrays, depth + 1) for v in value]
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, inner),) = value.items()
            if key == "$b":
                return wire.unb64(inner)
            if key == "$a":
                return arrays[inner]
            if key in _TYPES:
                return _TYPES[key](**{k: decode(v, arrays, depth + 1) for k, v in inner.items()})
        return {k: decode(v, arrays, depth + 1) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"unexpected {type(value).__name__}")


def state_of(value: Any) -> StateBlob | None:
    """A decoded state (a list on the wire) back as a (counter, blob) tuple."""
    if value is None:
        return None
    counter, blob = value
    return int(counter), bytes(blob)
