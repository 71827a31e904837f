"""The client side of the store (implements `encrypted_store.api.Store`): seal, encrypt, verify, rank.

Holds the keyring; talks to a `StoreHost` (in-process `LocalHost` or the HTTP client), which only
ever sees HMAC tags, padded AES-GCM blobs, CKKS ciphertexts and the client's sealed state. Records
are added as sealed pending rows and encrypted into 4096-slot CKKS blocks by `flush()` (the last,
partly filled block is rewritten). Every write carries the next `ClientState`; every read is checked
against it (`encrypted_store.verify`): the host's answers are never trusted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from encrypted_store import ranking, scan
from encrypted_store.api import Hit, Record, RecordIn, SearchFilter
from encrypted_store.ckks import CkksKit, N
from encrypted_store.errors import InputError, MismatchError, StoreError
from encrypted_store.host import Row, StateBlob, StoreHost
from encrypted_store.keys import Keyring
from encrypted_store.migrate import migrate
from encrypted_store.sealing import RecordSealing
from encrypted_store.verify import (
    FORMAT,
    BlockState,
    ClientState,
    HighWater,
    HostIntegrityError,
    RollbackError,
    canary_vectors,
    check_scores,
    integrity_error,
    slot_order,
)
from encrypted_store.writes import StoreWrites

DEFAULT_DIM = 384
# |decrypted - expected| of a canary or an empty slot, per slot and as the RMS over all checked slots
# of a scan (measured noise: RMS 9e-6 / max 4e-5 plaintext-query, RMS 5.6e-4 / max 0.0085 encrypted):
# the (0, 2^27) offset moves them by RMS 2.2e-3.
TOLERANCE = {False: 5e-4, True: 0.02}
RMS_TOLERANCE = {False: 1e-4, True: 1.5e-3}
RMS_MIN_SAMPLES = 32
ROLLBACK_NEXT = (
    "Someone put back an older copy of the store: restore the newest one from your backup. If you "
    "restored an older backup yourself, delete store-state.sealed in the data dir to accept it."
)


class EncryptedStore(RecordSealing, StoreWrites):
    """See `encrypted_store.api.Store` for the contract of each method.

    `state_path`: where this client remembers the newest state it has seen (rollback detection
    across runs). `plaintext_remote_queries`: let a remote host see query vectors (tests and
    benchmarks only; without it, plaintext queries to a remote host are refused).
    """

    def __init__(
        self,
        host: StoreHost,
        keyring: Keyring,
        dim: int | None = None,
        *,
        state_path: Path | None = None,
        plaintext_remote_queries: bool = False,
    ) -> None:
        self.host = host
        self.keyring = keyring
        self.plaintext_remote_queries = plaintext_remote_queries
        self.kit = CkksKit(keyring.ckks_params, keyring.ckks_secret)
        self._tag_key = keyring.subkey("store/record-id")
        self._row_key = keyring.subkey("store/row-doc")
        self._canary_key = keyring.subkey("store/canary")
        self._manifest_key = keyring.subkey("store/manifest")
        check = hmac.new(keyring.subkey("store/key-check"), b"store", hashlib.sha256).hexdigest()[:32]
        info = host.info()
        if "key_check" not in info:
            params = {k: keyring.ckks_params[k] for k in ("prime", "scale_bits", "poly_modulus_degree")}
            meta = {"key_check": check, "dim": dim or DEFAULT_DIM, "ckks": params, "format": FORMAT}
            info = host.setup({**meta, "store_id": secrets.token_hex(16)})
        if info["key_check"] != check:
            raise MismatchError(
                "This store was created with different keys than the ones unlocked.",
                "Open the store that belongs to these keys.",
            )
        self.dim = int(info["dim"])
        if dim is not None and dim != self.dim:
            raise MismatchError(
                f"Dimension mismatch: the store holds {self.dim}-dim vectors, the embedder makes {dim}.",
                "Use the embedding model the store was built with, or index into a new store.",
            )
        self._warnings: list[str] = []
        self._damaged: set[int] = set()
        self._cached: tuple[StateBlob, ClientState] | None = None
        self._canaries: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._high = HighWater(keyring, state_path)
        if "store_id" not in info:  # a store written before format 2
            info = host.setup({"store_id": secrets.token_hex(16)})
        self.store_id = str(info["store_id"])
        if info.get("format") != FORMAT:
            migrate(self, info.get("format"))
            host.setup({"format": FORMAT})

    @property
    def backend(self) -> StoreHost:
        """The host (the name before the StoreHost protocol)."""
        return self.host

    # ---- state -----------------------------------------------------------------------------
    def _verify_state(self, blob: StateBlob | None, floor: int) -> ClientState:
        """`floor`: the newest counter seen before the request went out (a later write may race it)."""
        if blob is None:
            if floor:
                raise RollbackError(
                    f"The store host served no state, but this client has seen state {floor}.",
                    ROLLBACK_NEXT,
                )
            return ClientState(self.store_id)
        if int(blob[0]) < floor:
            raise RollbackError(
                f"The store host served state {int(blob[0])}, older than state {floor} seen before.",
                ROLLBACK_NEXT,
            )
        if self._cached is not None and self._cached[0] == blob:
            state = self._cached[1]
        else:
            state = ClientState.open(self.keyring, self.store_id, blob)
            self._cached = (blob, state)
        self._high.raise_to(self.store_id, state.counter)
        return _copy(state)

    def state(self) -> ClientState:
        """The host's current state, verified."""
        floor = self._high.get(self.store_id)
        return self._verify_state(self.host.state(), floor)

    def _next(self, state: ClientState) -> StateBlob:
        state.counter += 1
        return state.seal(self.keyring)

    def _done(self, state: ClientState) -> None:
        self._high.raise_to(self.store_id, state.counter)

    def damaged_blocks(self) -> set[int]:
        """Blocks whose canaries or empty slots do not decrypt as expected (tampered or corrupt)."""
        self._scan(self._probe(), encrypted=False, strict=False)
        return set(self._damaged)

    def _canary(self, block: int, bs: BlockState) -> tuple[np.ndarray, np.ndarray]:
        """A block's slot order and canary vectors (float64), cached per block birth."""
        key = (block, bs.birth)
        if key not in self._canaries:
            order = slot_order(self._canary_key, block, bs.birth)
            vectors = canary_vectors(self._canary_key, block, bs.birth, self.dim)
            self._canaries[key] = (order, vectors.astype(np.float64))
        return self._canaries[key]

    def _probe(self) -> np.ndarray:
        return canary_vectors(self._canary_key, -1, -1, self.dim)[:1]

    # ---- reads -----------------------------------------------------------------------------
    def get(self, ids: Sequence[str]) -> list[Record]:
        opened = self._opened(ids)
        return [Record(r.id, r.text, r.doc, r.meta) for rid in ids if (r := opened.get(rid)) is not None]

    def export(self, ids: Sequence[str]) -> list[RecordIn]:
        """Decrypted records with their vectors (unknown ids left out): to move one without re-embedding."""
        opened = self._opened(ids)
        return [rec for rid in dict.fromkeys(ids) if (rec := opened.get(rid)) is not None]

    def _opened(self, ids: Sequence[str]) -> dict[str, RecordIn]:
        """Records by id, fetched and opened against the client's state (tampered or stale ones out)."""
        self._warnings = []
        state = self.state()
        out = {}
        for row in self.host.fetch(tags=[self._tag(i) for i in ids]):
            rec = self._open(row, state.version_of(row.tag, row.pos))
            if rec is not None and self._tag(rec.id) == row.tag:
                out[rec.id] = rec
        return out

    def count(self) -> int:
        return self.state().count()

    def records(self) -> Iterator[RecordIn]:
        """Every record that opens, placed and pending, decrypted (for re-encryption under new keys).

        Records that fail their integrity check are left out and named in `last_warnings`.
        """
        self._warnings = []
        state = self.state()
        opened = 0
        for block in sorted(state.blocks):
            for _row, rec in self._block_records(state, block):
                opened += 1
                yield rec
        for row in self.host.fetch(tags=list(state.pending)):
            if row.pos is None and (rec := self._open(row, state.pending.get(row.tag))) is not None:
                opened += 1
                yield rec
        if opened < state.count():
            self._warnings.append(
                f"{state.count() - opened} record(s) did not open or are missing on the host"
            )

    def stats(self) -> dict[str, Any]:
        """Counts and sizes, from the client's verified state; nothing private."""
        state = self.state()
        return {
            "records": state.count(),
            "pending": len(state.pending),
            "blocks": len(state.blocks),
            "dim": self.dim,
            "ciphertext_bytes": len(state.blocks) * N * 2 * self.dim * 8,
            "server_key_bytes": 0,
            "remote": bool(self.host.remote),
        }

    def encrypted_query_mode(self, encrypted_query: bool | None) -> bool:
        """None: encrypted exactly when the host is remote. A plaintext query to a remote host is refused."""
        if encrypted_query is None:
            return bool(self.host.remote)
        if not encrypted_query and self.host.remote and not self.plaintext_remote_queries:
            raise InputError(
                "Plaintext queries to a remote store host are refused: the host would read them.",
                "Search with encrypted queries (the default for a remote store).",
            )
        return bool(encrypted_query)

    def search(
        self,
        queries: np.ndarray,
        k: int = 5,
        *,
        encrypted_query: bool | None = None,
        filters: SearchFilter | None = None,
    ) -> list[list[Hit]]:
        self._warnings = []
        encrypted = self.encrypted_query_mode(encrypted_query)
        q = ranking.check_queries(queries, self.dim)
        if k <= 0:
            raise InputError("k must be positive.", "Ask for at least one result.")
        scores, positions, state, pending_rows = self._scan(q, encrypted=encrypted, strict=True)
        pend = []
        for row in pending_rows:
            if row.pos is None and row.tag in state.pending:
                rec = self._open(row, state.pending[row.tag])
                if rec is not None:
                    pend.append(rec)
        missing = len(state.pending) - len({r.tag for r in pending_rows if r.tag in state.pending})
        if missing:
            self._warnings.append(f"{missing} pending record(s) are missing on the store host")
        # encrypted queries carry ~100x more CKKS noise: re-rank a wider candidate window
        window = 16 if encrypted else 4
        return ranking.top_k(self, q, scores, positions, state, pend, k, filters or SearchFilter(), window)

    def encrypted_scores(
        self, q: np.ndarray, *, encrypted_query: bool | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Decrypted scores of every live placed record: (Q, M) float64 and their (M,) positions."""
        q = ranking.check_queries(q, self.dim)
        scores, positions, _s, _p = self._scan(q, encrypted=self.encrypted_query_mode(encrypted_query))
        return scores, positions

    def _scan(
        self, q: np.ndarray, *, encrypted: bool, strict: bool = True
    ) -> tuple[np.ndarray, np.ndarray, ClientState, list[Row]]:
        params = self.keyring.ckks_params
        floor = self._high.get(self.store_id)
        if encrypted:
            self.kit.prefetch = True  # the next query's encryptions of zero are made in the background
            qscale = float(2 ** params["enc_query_bits"])
            if self.host.remote:  # c1 travels as a seed: half the upload
                parts = [self.kit.encrypt_broadcast_seeded(row, qscale) for row in q]
                res = self.host.scan_encrypted(np.stack([c0 for c0, _s in parts]), [s for _c, s in parts])
            else:
                res = self.host.scan_encrypted(
                    np.stack([self.kit.encrypt_broadcast(row, qscale) for row in q])
                )
        else:
            qscale = float(2 ** params["query_bits"])
            res = self.host.scan_plain(scan.plain_query(q, params["query_bits"]))
        state = self._verify_state(res.state, floor)
        ids = [int(b) for b in np.asarray(res.blocks).reshape(-1)]
        if sorted(ids) != sorted(state.blocks) or len(set(ids)) != len(ids):
            raise integrity_error("a list of blocks that differs from the client's state")
        cts = np.asarray(res.cts)
        size = 3 if encrypted else 2
        if cts.shape != (len(ids), len(q), size, N) or (cts.size and int(cts.max()) >= self.kit.prime):
            raise integrity_error("score ciphertexts of the wrong shape or range")
        if not ids:
            return np.zeros((len(q), 0)), np.zeros(0, dtype=np.int64), state, list(res.pending)
        slots = self.kit.decrypt(cts.reshape(-1, size, N), self.kit.scale * qscale).reshape(
            len(ids), len(q), N
        )
        self._damaged = set()
        q64 = q.astype(np.float64)
        devs = []
        for i, block in enumerate(ids):
            bs = state.blocks[block]
            order, vectors = self._canary(block, bs)
            why, dev = check_scores(slots[i], q64 @ vectors.T, order, bs.filled, TOLERANCE[encrypted])
            devs.append(dev)
            if why and strict:
                raise HostIntegrityError(
                    f"Encrypted block {block} failed its integrity check ({why} slots decrypt wrong): the "
                    "store host changed the block or its scores; the search was stopped.",
                    "On your own disk: compact the store (it rebuilds the block from the sealed "
                    "records). On a remote host: stop using it and restore from your backup.",
                )
            if why:
                self._damaged.add(block)
                self._warnings.append(f"encrypted block {block} failed its integrity check ({why})")
        spread = np.concatenate(devs)
        if (
            strict
            and spread.size >= RMS_MIN_SAMPLES
            and np.sqrt(np.mean(spread**2)) > RMS_TOLERANCE[encrypted]
        ):
            raise integrity_error("scores whose canaries and empty slots are off by more than the noise")
        live = np.stack([state.blocks[b].live for b in ids])
        positions = (np.array(ids)[:, None] * N + np.arange(N)[None, :])[live]
        return slots.transpose(1, 0, 2)[:, live], positions, state, list(res.pending)

    # ---- manifest --------------------------------------------------------------------------
    def _mtag(self, key: str) -> bytes:
        return hmac.new(self._manifest_key, key.encode(), hashlib.sha256).digest()[:16]

    def manifest_put(self, key: str, value: dict[str, Any]) -> None:
        tag = self._mtag(key)
        blob = self.keyring.seal(json.dumps({"key": key, "value": value}).encode(), b"manifest|" + tag)
        self.host.manifest_put(tag, blob)

    def manifest_get_all(self) -> dict[str, dict[str, Any]]:
        out = {}
        for tag, blob in self.host.manifest_all():
            try:
                item = json.loads(self.keyring.open(blob, b"manifest|" + tag))
            except StoreError:
                self._warnings.append(f"manifest entry {tag.hex()} failed its integrity check")
                continue
            out[item["key"]] = item["value"]
        return out

    def manifest_delete(self, key: str) -> None:
        self.host.manifest_delete(self._mtag(key))

    @property
    def last_warnings(self) -> list[str]:
        return list(self._warnings)

    def close(self) -> None:
        """Encrypt pending records and release the host; a second call does nothing."""
        if getattr(self, "_closed", False):
            return
        self._closed = True
        try:
            self.flush()
        finally:
            self.kit.close()
            self.host.close()


def _copy(state: ClientState) -> ClientState:
    """A private copy to modify (the cached one stays as the host sent it)."""
    blocks = {b: BlockState(s.epoch, s.birth, s.filled, s.live.copy()) for b, s in state.blocks.items()}
    return ClientState(state.store_id, state.counter, blocks, dict(state.pending))
