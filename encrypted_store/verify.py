"""What the client keeps so that it never has to trust the host: its sealed state and its checks.

`ClientState` (sealed under the keyring, stored on the host atomically with every write, its counter
remembered in the client's data dir) says which blocks exist, each block's version (epoch), how many
slots it fills and which hold live records, and which tags are pending with which version. Slots are
never taken from the host: a host can only serve the latest state or be caught (`RollbackError`).
Each block carries `CANARIES` secret vectors at secret slots; scores of canaries and of never-filled
slots are checked on every scan (`HostIntegrityError`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from encrypted_store.ckks import N
from encrypted_store.errors import StoreError, TamperError
from encrypted_store.host import StateBlob
from encrypted_store.keys import Keyring

CANARIES = 32  # secret canary slots per block (0.8% of its capacity)
# 2: record binding (AAD) with a version; blocks with several canaries; padded payloads.
# 3: a row's doc value is its own (an HMAC of its tag), no longer the document's: rows link nothing.
FORMAT = 3


class HostIntegrityError(TamperError):
    """The store host returned something the client's keys and state prove wrong."""


class RollbackError(HostIntegrityError):
    """The store host served an older copy of something than the client has already seen."""


def integrity_error(what: str) -> HostIntegrityError:
    return HostIntegrityError(
        f"The store host returned {what}; the search was stopped and nothing was fetched.",
        "The host is faulty or tampering: stop using it, and restore the store from your backup.",
    )


@dataclass
class BlockState:
    """Slots are used in a secret order (`slot_order`): canaries first, then records as they come,
    so a record keeps its slot when the block is rewritten and canaries look like records."""

    epoch: int  # the state counter at which the block was last written: its records' version
    birth: int  # the state counter at which it was first written: fixes its slot order and canaries
    filled: int  # the first `filled` slots of the order are used; the others encrypt zero vectors
    live: np.ndarray  # (N,) bool: slot holds a current record (canaries never)


@dataclass
class ClientState:
    store_id: str
    counter: int = 0
    blocks: dict[int, BlockState] = field(default_factory=dict)
    pending: dict[bytes, int] = field(default_factory=dict)  # tag -> version

    def count(self) -> int:
        return sum(int(b.live.sum()) for b in self.blocks.values()) + len(self.pending)

    def live_positions(self) -> np.ndarray:
        parts = [b * N + np.flatnonzero(s.live) for b, s in sorted(self.blocks.items())]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def version_at(self, pos: int) -> int | None:
        """The version a live record at `pos` must carry, or None if no record lives there."""
        block = self.blocks.get(pos // N)
        return block.epoch if block is not None and block.live[pos % N] else None

    def version_of(self, tag: bytes, pos: int | None) -> int | None:
        """The version a live row (pending when `pos` is None) must carry, or None if it is not live."""
        return self.pending.get(tag) if pos is None else self.version_at(pos)

    # ---- sealing ---------------------------------------------------------------------------
    def _aad(self, counter: int) -> bytes:
        return b"store-state|" + self.store_id.encode() + struct.pack("<q", counter)

    def seal(self, ring: Keyring) -> StateBlob:
        doc = {
            "blocks": {
                str(b): [s.epoch, s.birth, s.filled, np.packbits(s.live).tobytes().hex()]
                for b, s in self.blocks.items()
            },
            "pending": {t.hex(): v for t, v in self.pending.items()},
        }
        body = zlib.compress(json.dumps(doc).encode(), 1)
        return self.counter, ring.seal(body, self._aad(self.counter))

    @classmethod
    def open(cls, ring: Keyring, store_id: str, blob: StateBlob) -> ClientState:
        counter, sealed = blob
        state = cls(store_id, int(counter))
        try:
            doc = json.loads(zlib.decompress(ring.open(sealed, state._aad(state.counter))))
        except StoreError:
            raise integrity_error("a state blob that fails its integrity check") from None
        for b, (epoch, birth, filled, bits) in doc["blocks"].items():
            live = np.unpackbits(np.frombuffer(bytes.fromhex(bits), dtype=np.uint8))[:N].astype(bool)
            state.blocks[int(b)] = BlockState(int(epoch), int(birth), int(filled), live)
        state.pending = {bytes.fromhex(t): int(v) for t, v in doc["pending"].items()}
        return state


def slot_order(key: bytes, block: int, birth: int) -> np.ndarray:
    """The block's secret slot order: its first `CANARIES` slots hold canaries, records follow."""
    seed = hmac.new(key, b"slots" + struct.pack("<qq", block, birth), hashlib.sha256).digest()
    return np.random.default_rng(int.from_bytes(seed, "little")).permutation(N)


def canary_vectors(key: bytes, block: int, birth: int, dim: int) -> np.ndarray:
    seed = hmac.new(key, b"vecs" + struct.pack("<qq", block, birth), hashlib.sha256).digest()
    vec = np.random.default_rng(int.from_bytes(seed, "little")).standard_normal((CANARIES, dim))
    return (vec / np.linalg.norm(vec, axis=1, keepdims=True)).astype(np.float32)


def decoy_tag(key: bytes, block: int, birth: int, i: int) -> tuple[bytes, bytes]:
    """A canary row's (tag, doc): stable across rewrites of the block and random-looking, as a
    record's are."""
    mac = hmac.new(key, b"decoy" + struct.pack("<qqq", block, birth, i), hashlib.sha256).digest()
    return mac[:16], mac[16:]


HIGH_WATER_AAD = b"store-high-water"  # the state file (`HighWater`), sealed whole under this AAD


class HighWater:
    """The highest state counter this data dir has seen per store (sealed file; None: memory only)."""

    def __init__(self, ring: Keyring, path: Path | None) -> None:
        self.ring, self.path = ring, path
        self._seen: dict[str, int] = {}

    def _read(self) -> dict[str, int]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            return dict(json.loads(self.ring.open(self.path.read_bytes(), HIGH_WATER_AAD)))
        except (StoreError, ValueError):
            raise StoreError(
                f"The store state file {self.path} is corrupt.",
                "Delete it to trust the store host's current state again (rollback checks restart).",
            ) from None

    def get(self, store_id: str) -> int:
        return max(self._seen.get(store_id, 0), self._read().get(store_id, 0))

    def raise_to(self, store_id: str, counter: int) -> None:
        if counter <= self._seen.get(store_id, 0):
            return
        self._seen[store_id] = counter
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(str(self.path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            seen = self._read()
            if counter <= seen.get(store_id, 0):
                return
            seen[store_id] = counter
            tmp = self.path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(self.ring.seal(json.dumps(seen).encode(), HIGH_WATER_AAD))
            os.replace(tmp, self.path)
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(lock, fcntl.LOCK_UN)
            os.close(lock)


def check_scores(
    slots: np.ndarray, expected: np.ndarray, order: np.ndarray, filled: int, tol: float
) -> tuple[str, np.ndarray]:
    """One block's decrypted (Q, N) scores against its canaries and empty slots.

    Returns ('' or what failed, the deviations of every checked slot): the caller also tests their
    spread against the noise, which catches a key-dependent offset too small for any one slot."""
    if not np.all(np.isfinite(slots)):
        return "range", np.zeros(0)
    dev = np.concatenate([(slots[:, order[:CANARIES]] - expected).ravel(), slots[:, order[filled:]].ravel()])
    if np.max(np.abs(slots[:, order[:CANARIES]] - expected), initial=0.0) > tol:
        return "canary", dev
    if filled < N and np.max(np.abs(slots[:, order[filled:]]), initial=0.0) > tol:
        return "empty", dev
    if np.max(np.abs(slots), initial=0.0) > 1.0 + tol:
        return "range", dev
    return "", dev
