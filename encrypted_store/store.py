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
import struct
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from encrypted_store import ranking, scan
from encrypted_store.api import Hit, Record, RecordIn, SearchFilter
from encrypted_store.ckks import CkksKit, N
from encrypted_store.errors import InputError, MismatchError, StoreError, TamperError
from encrypted_store.host import Row, StateBlob, StoreHost
from encrypted_store.keys import Keyring
from encrypted_store.migrate import migrate_v1
from encrypted_store.verify import (
    CANARIES,
    FORMAT,
    BlockState,
    ClientState,
    HighWater,
    HostIntegrityError,
    RollbackError,
    canary_vectors,
    check_scores,
    decoy_tag,
    integrity_error,
    slot_order,
)

DEFAULT_DIM = 384
FLUSH_AT = 1024  # pending records that trigger encryption into CKKS blocks during add()
PER_BLOCK = N - CANARIES  # records per block
MIN_BUCKET = 4096  # sealed payloads are padded to a power of two at least this large
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


class EncryptedStore:
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
        self._doc_key = keyring.subkey("store/doc")
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
            migrate_v1(self)
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

    # ---- sealing ---------------------------------------------------------------------------
    def _tag(self, record_id: str) -> bytes:
        return hmac.new(self._tag_key, record_id.encode(), hashlib.sha256).digest()[:16]

    def _doc(self, doc: str) -> bytes:
        return hmac.new(self._doc_key, doc.encode(), hashlib.sha256).digest()[:16]

    @staticmethod
    def _aad(tag: bytes, pos: int | None, version: int) -> bytes:
        return b"record2|" + tag + struct.pack("<qq", -1 if pos is None else pos, version)

    def _seal_body(self, body: bytes, tag: bytes, pos: int | None, version: int) -> bytes:
        bucket = max(MIN_BUCKET, 1 << (len(body) + 36).bit_length())
        padded = body + bytes(bucket - 37 - len(body))  # version (8) + seal (29) + padded = `bucket`
        return struct.pack("<q", version) + self.keyring.seal(padded, self._aad(tag, pos, version))

    def _seal(self, rec: RecordIn, tag: bytes, pos: int | None, version: int) -> bytes:
        head = json.dumps({"id": rec.id, "text": rec.text, "doc": rec.doc, "meta": rec.meta}).encode()
        body = struct.pack("<I", len(head)) + head + np.asarray(rec.vector, dtype="<f4").tobytes()
        return self._seal_body(body, tag, pos, version)

    def _open(self, row: Row, version: int | None) -> RecordIn | None:
        """Decrypt one row that must carry `version`; tampered, rolled-back or decoy rows give None."""
        if version is None:
            self._warnings.append(f"record {row.tag.hex()} is not live in the client's state; skipped")
            return None
        claimed = struct.unpack_from("<q", row.payload)[0] if len(row.payload) >= 8 else -2
        try:
            body = self.keyring.open(row.payload[8:], self._aad(row.tag, row.pos, claimed))
        except TamperError:
            self._warnings.append(f"record {row.tag.hex()} failed its integrity check and was skipped")
            return None
        if claimed < version:
            self._warnings.append(
                f"record {row.tag.hex()} is an older copy (rolled back from version {version} to "
                f"{claimed}) and was refused"
            )
            return None
        (size,) = struct.unpack_from("<I", body)
        if size == 0:
            return None  # a canary's decoy row
        head = json.loads(body[4 : 4 + size])
        vector = np.frombuffer(body, dtype="<f4", offset=4 + size, count=self.dim)
        return RecordIn(head["id"], head["text"], vector, head["doc"], head["meta"])

    # ---- writes ----------------------------------------------------------------------------
    def add(self, records: Sequence[RecordIn]) -> None:
        seen: dict[bytes, RecordIn] = {}
        for rec in records:
            vec = np.asarray(rec.vector)
            if vec.shape != (self.dim,):
                raise InputError(
                    f"Dimension mismatch: record {rec.id!r} has shape {vec.shape}, the store holds "
                    f"{self.dim}-dim vectors.",
                    "Embed with the model the store was built with, or index into a new store.",
                )
            if not np.all(np.isfinite(vec)) or not 0.5 < float(np.linalg.norm(vec)) < 1.5:
                raise InputError(f"Record {rec.id!r} is not a unit vector.", "Normalize embeddings first.")
            if self._tag(rec.id) in seen:
                raise InputError(f"Record id {rec.id!r} appears twice in one add().", "Make ids unique.")
            seen[self._tag(rec.id)] = rec
        if seen:
            state = self.state()
            self._forget(state, self.host.fetch(tags=list(seen)))  # replaced records leave their slots
            version = state.counter + 1
            rows = [
                (tag, self._doc(rec.doc), self._seal(rec, tag, None, version)) for tag, rec in seen.items()
            ]
            state.pending.update({tag: version for tag in seen})
            self.host.append(rows, self._next(state))
            self._done(state)
            if len(state.pending) >= FLUSH_AT:
                self.flush()

    def _forget(self, state: ClientState, rows: list[Row], doc: str | None = None) -> int:
        """Take the verified records among `rows` out of `state`; returns how many."""
        gone = 0
        for row in rows:
            version = state.pending.get(row.tag) if row.pos is None else state.version_at(row.pos)
            rec = self._open(row, version) if version is not None else None
            if rec is None or (doc is not None and rec.doc != doc) or self._tag(rec.id) != row.tag:
                continue
            if row.pos is None:
                state.pending.pop(row.tag, None)
            else:
                state.blocks[row.pos // N].live[row.pos % N] = False
            gone += 1
        return gone

    def flush(self) -> int:
        """Encrypt pending records into CKKS blocks (filling the last block first); returns how many."""
        state = self.state()
        if not state.pending:
            return 0
        rows = [r for r in self.host.fetch(tags=list(state.pending)) if r.pos is None]
        pending = [(r, rec) for r in rows if (rec := self._open(r, state.pending.get(r.tag))) is not None]
        if not pending:
            return 0
        count = len(pending)
        block = max(state.blocks, default=-1)
        tail = state.blocks.get(block)
        if tail is not None and tail.filled < N:
            keep = [
                (r, rec)
                for r in self.host.block_rows(block)
                if r.pos is not None and (rec := self._open(r, state.version_at(r.pos))) is not None
            ]
            room = N - tail.filled
            self._write_block(state, block, keep, pending[:room])
            pending = pending[room:]
        for start in range(0, len(pending), PER_BLOCK):
            block += 1
            self._write_block(state, block, [], pending[start : start + PER_BLOCK])
        return count

    def _write_block(
        self,
        state: ClientState,
        block: int,
        keep: list[tuple[Row, RecordIn]],
        new: list[tuple[Row, RecordIn]],
    ) -> None:
        """(Re)write a block: `keep` records stay at their slots, `new` ones take the next in its order."""
        epoch = state.counter + 1
        old = state.blocks.get(block)
        birth, filled = (old.birth, old.filled) if old is not None else (epoch, CANARIES)
        order = slot_order(self._canary_key, block, birth)
        items = [(int(r.pos) % N, r, rec) for r, rec in keep if r.pos is not None and r.pos // N == block]
        items += [(int(order[filled + i]), r, rec) for i, (r, rec) in enumerate(new)]
        vectors = np.zeros((N, self.dim), dtype=np.float32)
        vectors[order[:CANARIES]] = canary_vectors(self._canary_key, block, birth, self.dim)
        live = np.zeros(N, dtype=bool)
        placed = []
        for slot, row, rec in items:
            pos = block * N + slot
            vectors[slot] = np.asarray(rec.vector, dtype=np.float32)
            live[slot] = True
            placed.append((row.tag, row.doc, pos, self._seal(rec, row.tag, pos, epoch)))
            state.pending.pop(row.tag, None)
        for i, slot in enumerate(order[:CANARIES]):  # decoy rows: canaries look like records to the host
            tag, doc = decoy_tag(self._canary_key, block, birth, i)
            pos = block * N + int(slot)
            placed.append((tag, doc, pos, self._seal_body(bytes(4), tag, pos, epoch)))
        state.blocks[block] = BlockState(epoch, birth, filled + len(new), live)
        data = self.kit.encrypt_block(vectors)
        self.host.write_block(block, data.tobytes(), placed, self._next(state))
        self._done(state)

    def delete(self, ids: Iterable[str]) -> int:
        tags = [self._tag(i) for i in ids]
        state = self.state()
        gone = self._forget(state, self.host.fetch(tags=tags))
        self.host.delete(tags, self._next(state))
        self._done(state)
        return gone

    def delete_doc(self, doc: str) -> int:
        state = self.state()
        rows = self.host.fetch(docs=[self._doc(doc)])
        gone = self._forget(state, rows, doc)
        self.host.delete([r.tag for r in rows], self._next(state))
        self._done(state)
        return gone

    def compact(self, min_live: float = 0.5) -> int:
        """Re-encrypt blocks whose live share fell below `min_live`, and damaged ones; returns how many."""
        self._warnings = []
        damaged = self.damaged_blocks()
        state = self.state()
        last = max(state.blocks, default=-1)
        dropped = 0
        for block, bs in sorted(state.blocks.items()):
            live = int(bs.live.sum())
            if block not in damaged:
                if bs.filled == N and live >= min_live * PER_BLOCK:
                    continue
                if bs.filled < N and block == last and live == bs.filled - CANARIES:
                    continue  # the open tail block: flush() fills it
            opened = [
                (r, rec)
                for r in self.host.block_rows(block)
                if r.pos is not None and (rec := self._open(r, state.version_at(r.pos))) is not None
            ]
            version = state.counter + 1
            released = [(r.tag, self._seal(rec, r.tag, None, version)) for r, rec in opened]
            del state.blocks[block]
            state.pending.update({r.tag: version for r, _rec in opened})
            self.host.drop_block(block, released, self._next(state))
            self._done(state)
            dropped += 1
        self.flush()
        self.host.vacuum()
        return dropped

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
        self._warnings = []
        state = self.state()
        by_tag = {r.tag: r for r in self.host.fetch(tags=[self._tag(i) for i in ids])}
        out = []
        for rid in ids:
            row = by_tag.get(self._tag(rid))
            if row is None:
                continue
            version = state.pending.get(row.tag) if row.pos is None else state.version_at(row.pos)
            rec = self._open(row, version)
            if rec is not None and rec.id == rid:
                out.append(Record(rec.id, rec.text, rec.doc, rec.meta))
        return out

    def export(self, ids: Sequence[str]) -> list[RecordIn]:
        """Decrypted records with their vectors (unknown ids left out): to move one without re-embedding."""
        self._warnings = []
        state = self.state()
        out = []
        for row in self.host.fetch(tags=[self._tag(i) for i in ids]):
            version = state.pending.get(row.tag) if row.pos is None else state.version_at(row.pos)
            if (rec := self._open(row, version)) is not None:
                out.append(rec)
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
            for row in self.host.block_rows(block):
                version = state.version_at(row.pos) if row.pos is not None else None
                if version is not None and (rec := self._open(row, version)) is not None:  # not decoys
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
