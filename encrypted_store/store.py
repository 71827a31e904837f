"""The client side of the store (implements `encrypted_store.api.Store`): seal, encrypt, decrypt, rank.

Holds the keyring; talks to a backend (in-process `LocalBackend` or the HTTP client), which only ever
sees HMAC tags, AES-GCM blobs and CKKS ciphertexts. Records are added as sealed rows (their vector
sealed with them) and encrypted into 4096-record CKKS blocks by `flush()` (at most the last, partly
filled block is rewritten). Until then they are scored here after opening their sealed vectors.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from encrypted_store import ranking, scan
from encrypted_store.api import Hit, Record, RecordIn, SearchFilter
from encrypted_store.backend import Row
from encrypted_store.ckks import CkksKit, N
from encrypted_store.errors import InputError, MismatchError, StoreError
from encrypted_store.keys import Keyring

DEFAULT_DIM = 384
FLUSH_AT = 1024  # pending records that trigger encryption into CKKS blocks during add()


class EncryptedStore:
    """See `encrypted_store.api.Store` for the contract of each method."""

    def __init__(self, backend: Any, keyring: Keyring, dim: int | None = None) -> None:
        self.backend = backend
        self.keyring = keyring
        self.kit = CkksKit(keyring.ckks_params, keyring.ckks_secret)
        self._tag_key = keyring.subkey("store/record-id")
        self._doc_key = keyring.subkey("store/doc")
        self._canary_key = keyring.subkey("store/canary")
        self._manifest_key = keyring.subkey("store/manifest")
        check = hmac.new(keyring.subkey("store/key-check"), b"store", hashlib.sha256).hexdigest()[:32]
        info = backend.info()
        if "key_check" not in info:
            params = {k: keyring.ckks_params[k] for k in ("prime", "scale_bits", "poly_modulus_degree")}
            info = backend.setup({"key_check": check, "dim": dim or DEFAULT_DIM, "ckks": params})
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

    # ---- helpers ---------------------------------------------------------------------------
    def _tag(self, record_id: str) -> bytes:
        return hmac.new(self._tag_key, record_id.encode(), hashlib.sha256).digest()[:16]

    def _doc(self, doc: str) -> bytes:
        return hmac.new(self._doc_key, doc.encode(), hashlib.sha256).digest()[:16]

    @staticmethod
    def _aad(tag: bytes, pos: int | None) -> bytes:
        return b"record|" + tag + struct.pack("<q", -1 if pos is None else pos)

    def _seal(self, rec: RecordIn, pos: int | None = None, tag: bytes | None = None) -> bytes:
        head = json.dumps({"id": rec.id, "text": rec.text, "doc": rec.doc, "meta": rec.meta}).encode()
        body = struct.pack("<I", len(head)) + head + np.asarray(rec.vector, dtype="<f4").tobytes()
        return self.keyring.seal(body, self._aad(tag or self._tag(rec.id), pos))

    def _open(self, row: Row) -> RecordIn | None:
        """Decrypt one row; a tampered or moved row is reported and left out."""
        try:
            body = self.keyring.open(row.payload, self._aad(row.tag, row.pos))
        except StoreError:
            self._warnings.append(f"record {row.tag.hex()} failed its integrity check and was skipped")
            return None
        (size,) = struct.unpack_from("<I", body)
        head = json.loads(body[4 : 4 + size])
        vector = np.frombuffer(body, dtype="<f4", offset=4 + size)
        return RecordIn(head["id"], head["text"], vector, head["doc"], head["meta"])

    def canary(self, block: int) -> np.ndarray:
        """A secret unit vector at slot 0 of each block: its decrypted score proves the block intact."""
        seed = hmac.new(self._canary_key, struct.pack("<q", block), hashlib.sha256).digest()
        vec = np.random.default_rng(int.from_bytes(seed, "little")).standard_normal(self.dim)
        return (vec / np.linalg.norm(vec)).astype(np.float32)

    # ---- writes ----------------------------------------------------------------------------
    def add(self, records: Sequence[RecordIn]) -> None:
        rows, seen = [], set()
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
            if rec.id in seen:
                raise InputError(f"Record id {rec.id!r} appears twice in one add().", "Make ids unique.")
            seen.add(rec.id)
            rows.append((self._tag(rec.id), self._doc(rec.doc), self._seal(rec)))
        if rows:
            self.backend.append(rows)
        if self.backend.info()["pending"] >= FLUSH_AT:
            self.flush()

    def flush(self) -> int:
        """Encrypt pending records into CKKS blocks (filling the last block first); returns how many."""
        pending = [(r, rec) for r in self.backend.pending() if (rec := self._open(r)) is not None]
        if not pending:
            return 0
        blocks = self.backend.blocks()
        todo: list[tuple[Row, RecordIn]] = []
        block: int | None = None
        if blocks and blocks[-1][1] < N:
            block = blocks[-1][0]
            todo = [(r, rec) for r in self.backend.block_rows(block) if (rec := self._open(r)) is not None]
        todo += pending
        for start in range(0, len(todo), N - 1):
            self._write_block(block, todo[start : start + N - 1])
            block = None
        return len(pending)

    def _write_block(self, block: int | None, items: list[tuple[Row, RecordIn]]) -> None:
        if block is None:
            block = max((b for b, _u in self.backend.blocks()), default=-1) + 1
        vectors = np.stack(
            [self.canary(block)] + [np.asarray(rec.vector, dtype=np.float32) for _r, rec in items]
        )
        data = self.kit.encrypt_block(vectors)
        placed = []
        for slot, (row, rec) in enumerate(items, start=1):
            pos = block * N + slot
            placed.append((row.tag, pos, self._seal(rec, pos, row.tag)))
        self.backend.write_block(block, data.tobytes(), placed)

    def delete(self, ids: Iterable[str]) -> int:
        return int(self.backend.delete([self._tag(i) for i in ids]))

    def delete_doc(self, doc: str) -> int:
        return int(self.backend.delete_doc(self._doc(doc)))

    def compact(self, min_live: float = 0.5) -> int:
        """Re-encrypt blocks whose live share fell below `min_live`; returns how many were dropped."""
        dropped = 0
        damaged = self.damaged_blocks()
        blocks = self.backend.blocks()
        for block, used in blocks:
            rows = self.backend.block_rows(block)
            if block not in damaged:
                if used == N and len(rows) >= min_live * (N - 1):
                    continue
                if used < N and block == blocks[-1][0] and len(rows) == used - 1:
                    continue  # the open tail block: flush() fills it
            opened = [(r, rec) for r in rows if (rec := self._open(r)) is not None]
            self.backend.drop_block(block, [(r.tag, self._seal(rec, None, r.tag)) for r, rec in opened])
            dropped += 1
        self.flush()
        self.backend.vacuum()
        return dropped

    def damaged_blocks(self) -> set[int]:
        """Blocks whose canary does not decrypt to its expected score (tampered or corrupt)."""
        self.encrypted_scores(self.canary(-1)[None, :])
        return set(self._damaged)

    # ---- reads -----------------------------------------------------------------------------
    def get(self, ids: Sequence[str]) -> list[Record]:
        self._warnings = []
        by_tag = {r.tag: r for r in self.backend.fetch(tags=[self._tag(i) for i in ids])}
        out = []
        for rid in ids:
            row = by_tag.get(self._tag(rid))
            rec = self._open(row) if row is not None else None
            if rec is not None:
                out.append(Record(rec.id, rec.text, rec.doc, rec.meta))
        return out

    def export(self, ids: Sequence[str]) -> list[RecordIn]:
        """Decrypted records with their vectors (unknown ids left out): to move one without re-embedding."""
        self._warnings = []
        rows = self.backend.fetch(tags=[self._tag(i) for i in ids])
        return [rec for row in rows if (rec := self._open(row)) is not None]

    def count(self) -> int:
        return int(self.backend.info()["count"])

    def records(self) -> Iterator[RecordIn]:
        """Every record that opens, placed and pending, decrypted (for re-encryption under new keys).

        Records that fail their integrity check are left out and named in `last_warnings`.
        """
        self._warnings = []
        for block, _used in self.backend.blocks():
            for row in self.backend.block_rows(block):
                if (rec := self._open(row)) is not None:
                    yield rec
        for row in self.backend.pending():
            if (rec := self._open(row)) is not None:
                yield rec

    def stats(self) -> dict[str, Any]:
        """Counts and sizes; nothing private."""
        info = self.backend.info()
        blocks = self.backend.blocks()
        return {
            "records": info["count"],
            "pending": info["pending"],
            "blocks": len(blocks),
            "dim": self.dim,
            "ciphertext_bytes": len(blocks) * N * 2 * self.dim * 8,
            "server_key_bytes": 0,
            "remote": type(self.backend).__name__ != "LocalBackend",
        }

    def search(
        self,
        queries: np.ndarray,
        k: int = 5,
        *,
        encrypted_query: bool = False,
        filters: SearchFilter | None = None,
    ) -> list[list[Hit]]:
        self._warnings = []
        q = ranking.check_queries(queries, self.dim)
        scores, positions = self.encrypted_scores(q, encrypted_query=encrypted_query)
        pend = [(r, rec) for r in self.backend.pending() if (rec := self._open(r)) is not None]
        # encrypted queries carry ~100x more CKKS noise: re-rank a wider candidate window
        window = 16 if encrypted_query else 4
        return ranking.top_k(self, q, scores, positions, pend, k, filters or SearchFilter(), window)

    def encrypted_scores(
        self, q: np.ndarray, *, encrypted_query: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Decrypted scores of every live placed record: (Q, M) float64 and their (M,) positions."""
        params = self.keyring.ckks_params
        if encrypted_query:
            self.kit.prefetch = True  # the next query's encryptions of zero are made in the background
            qscale = float(2 ** params["enc_query_bits"])
            enc = np.stack([self.kit.encrypt_broadcast(row, qscale) for row in q])
            res = self.backend.scan_encrypted(enc, self.dim, self.kit.prime)
        else:
            qscale = float(2 ** params["query_bits"])
            res = self.backend.scan_plain(scan.plain_query(q, params["query_bits"]), self.dim, self.kit.prime)
        nb, nq = res.cts.shape[:2]
        if nb == 0:
            return np.zeros((len(q), 0)), np.zeros(0, dtype=np.int64)
        slots = self.kit.decrypt(res.cts.reshape(nb * nq, res.cts.shape[2], N), self.kit.scale * qscale)
        slots = slots.reshape(nb, nq, N)
        live = res.live.copy()
        self._damaged = set()
        for i, block in enumerate(res.blocks):
            expected = q.astype(np.float64) @ self.canary(int(block)).astype(np.float64)
            if np.max(np.abs(slots[i, :, 0] - expected)) > 1e-2:
                live[i] = False
                self._damaged.add(int(block))
                self._warnings.append(
                    f"encrypted block {int(block)} failed its integrity check; its records were skipped "
                    "(re-index the affected files, or restore the store from a backup)"
                )
        positions = (res.blocks[:, None] * N + np.arange(N)[None, :])[live]
        return slots.transpose(1, 0, 2)[:, live], positions

    # ---- manifest --------------------------------------------------------------------------
    def _mtag(self, key: str) -> bytes:
        return hmac.new(self._manifest_key, key.encode(), hashlib.sha256).digest()[:16]

    def manifest_put(self, key: str, value: dict[str, Any]) -> None:
        tag = self._mtag(key)
        blob = self.keyring.seal(json.dumps({"key": key, "value": value}).encode(), b"manifest|" + tag)
        self.backend.manifest_put(tag, blob)

    def manifest_get_all(self) -> dict[str, dict[str, Any]]:
        out = {}
        for tag, blob in self.backend.manifest_all():
            try:
                item = json.loads(self.keyring.open(blob, b"manifest|" + tag))
            except StoreError:
                self._warnings.append(f"manifest entry {tag.hex()} failed its integrity check")
                continue
            out[item["key"]] = item["value"]
        return out

    def manifest_delete(self, key: str) -> None:
        self.backend.manifest_delete(self._mtag(key))

    @property
    def last_warnings(self) -> list[str]:
        return list(self._warnings)

    def close(self) -> None:
        """Encrypt pending records and release the database; a second call does nothing."""
        if getattr(self, "_closed", False):
            return
        self._closed = True
        try:
            self.flush()
        finally:
            self.kit.close()
            self.backend.close()
