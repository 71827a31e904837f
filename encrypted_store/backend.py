"""`LocalHost`: the store host (no key) on a SQLite file, in-process or behind `assistant store serve`.

Positions: a placed record sits at pos = block * 4096 + slot; pending records (pos NULL) are not in
any ciphertext yet. Blocks are cached in memory in groups laid out dimension-major (D, j, block,
polynomial), so that a whole group is one matrix product; a group is rebuilt only when one of its
blocks changes. Scans use `threads` cores (default: all): BLAS threads for the plaintext-query
product, a thread pool over positions for the encrypted-query one.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import threading
from pathlib import Path
from typing import Any

import numpy as np

from encrypted_store import scan
from encrypted_store.ckks import N, uniform_from_seed
from encrypted_store.db import Database
from encrypted_store.errors import InputError
from encrypted_store.host import PlainQuery, Row, ScanResult, StateBlob, state_of

GROUP_BLOCKS = 16  # 64k records, ~400 MB per group at 384 dims


def _blas_threads(count: int) -> Any:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it BLAS keeps its default thread count
        return contextlib.nullcontext()
    return threadpool_limits(count, user_api="blas")


MAX_POS = 1 << 40  # 2^28 blocks: far beyond any store, far below SQLite's 2^63


def _pos(value: Any, limit: int = MAX_POS) -> int:
    """An int in [0, limit) from a caller (bools and floats are not ints here)."""
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or not 0 <= int(value) < limit:
        raise InputError(
            f"A block or position is out of range ({value!r}).", "Check client and server versions."
        )
    return int(value)


class StoreConflict(InputError):
    """Another writer changed the store since this client read its state."""


class LocalHost:
    """Everything the untrusted host does, on one SQLite file (`encrypted_store.host.StoreHost`)."""

    remote = False

    def __init__(self, path: Path, threads: int | None = None, scan_device: str | None = None) -> None:
        self.db = Database(path)
        self.threads = max(1, threads or os.cpu_count() or 1)
        # None: the numpy scan; "cpu"/"cuda": the torch scan, blocks resident on that device
        self._scanner: Any = None
        if scan_device is not None:
            from encrypted_store.scan_torch import TorchScanner

            self._scanner = TorchScanner(scan_device)
        self._gen = -1
        self._groups: list[tuple[tuple[tuple[int, int], ...], np.ndarray]] = []
        self._snap: tuple[list[Row], StateBlob | None] = ([], None)
        self._splits: dict[tuple[tuple[int, int], ...], np.ndarray] = {}  # for encrypted queries
        self._cache_lock = threading.Lock()

    # ---- metadata -------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        meta = self.db.meta()
        (count,) = self.db.query("SELECT count(*) FROM records")[0]
        (pending,) = self.db.query("SELECT count(*) FROM records WHERE pos IS NULL")[0]
        (blocks,) = self.db.query("SELECT count(*) FROM blocks")[0]
        return {**meta, "count": count, "pending": pending, "blocks": blocks}

    def setup(self, meta: dict[str, Any]) -> dict[str, Any]:
        """Record public parameters on first use; later calls leave them as they are, but for a
        higher `format` (a client that migrated the store says so)."""
        if not isinstance(meta, dict) or not all(isinstance(k, str) for k in meta):
            raise InputError("Store parameters must be an object.", "Check client and server versions.")
        with self.db.write() as conn:
            for key, value in meta.items():
                conn.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, json.dumps(value)))
            fmt = meta.get("format")
            if isinstance(fmt, int) and not isinstance(fmt, bool):
                conn.execute(
                    "UPDATE meta SET value = ? WHERE key = 'format' AND CAST(value AS INTEGER) < ?",
                    (json.dumps(fmt), fmt),
                )
        return self.info()

    def state(self) -> StateBlob | None:
        return self._read_state()

    def _read_state(self) -> StateBlob | None:
        rows = self.db.query("SELECT counter, blob FROM state WHERE id = 0")
        return (int(rows[0][0]), bytes(rows[0][1])) if rows else None

    @staticmethod
    def _put_state(conn: sqlite3.Connection, state: StateBlob) -> None:
        """Compare and set: the new state must follow the stored one (one writer at a time)."""
        counter, blob = state_of(state)  # type: ignore[misc]
        row = conn.execute("SELECT counter FROM state WHERE id = 0").fetchone()
        if counter != (row[0] if row else 0) + 1:
            raise StoreConflict(
                "Another process changed the store at the same time.",
                "Retry; index from one process at a time.",
            )
        conn.execute("INSERT OR REPLACE INTO state VALUES (0, ?, ?)", (counter, blob))

    # ---- rows ------------------------------------------------------------------------------
    def append(self, rows: list[tuple[bytes, bytes, bytes]], state: StateBlob) -> None:
        """Insert or replace records as pending; a replaced record's old slot becomes dead."""
        with self.db.write() as conn:
            self._put_state(conn, state)
            conn.executemany(
                "INSERT INTO records (tag, doc, pos, payload) VALUES (?, ?, NULL, ?) ON CONFLICT(tag) "
                "DO UPDATE SET doc = excluded.doc, pos = NULL, payload = excluded.payload",
                [(bytes(t), bytes(d), bytes(p)) for t, d, p in rows],
            )

    def delete(self, tags: list[bytes], state: StateBlob) -> int:
        with self.db.write() as conn:
            self._put_state(conn, state)
            return sum(conn.execute("DELETE FROM records WHERE tag = ?", (bytes(t),)).rowcount for t in tags)

    def fetch(self, tags: list[bytes] | None = None, positions: list[int] | None = None) -> list[Row]:
        out: list[Row] = []
        for column, values in (("tag", tags), ("pos", positions)):
            values = [_pos(v) if column == "pos" else bytes(v) for v in values or []]
            for i in range(0, len(values), 500):
                part = values[i : i + 500]
                marks = ",".join("?" * len(part))
                sql = f"SELECT * FROM records WHERE {column} IN ({marks})"
                out += [Row(*r) for r in self.db.query(sql, part)]
        return out

    def block_rows(self, block: int) -> list[Row]:
        lo = _pos(block, MAX_POS // N) * N
        sql = "SELECT * FROM records WHERE pos >= ? AND pos < ? ORDER BY pos"
        return [Row(*r) for r in self.db.query(sql, (lo, lo + N))]

    # ---- blocks ----------------------------------------------------------------------------
    def write_block(
        self, block: int, data: bytes, placed: list[tuple[bytes, bytes, int, bytes]], state: StateBlob
    ) -> None:
        """Store (or replace) one block and make `placed` its rows, atomically with the state."""
        block = _pos(block, MAX_POS // N)
        if isinstance(data, np.ndarray):  # from the server: the wire carries it as a float64 array
            data = data.astype("<f8").tobytes() if data.dtype == np.float64 else b""
        if len(data) != N * 2 * self._dim() * 8 or block < 0:
            raise InputError("A block has the wrong size.", "Check that client and server versions match.")
        lo = block * N
        if any(not lo <= _pos(pos) < lo + N for _t, _d, pos, _p in placed):
            raise InputError("A record was placed outside its block.", "Report this as a bug.")
        with self.db.write() as conn:
            self._put_state(conn, state)
            conn.execute("DELETE FROM records WHERE pos >= ? AND pos < ?", (lo, lo + N))
            conn.execute(
                "INSERT INTO blocks VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET data = excluded.data,"
                " used = excluded.used, ver = excluded.ver",
                (block, bytes(data), len(placed), secrets.randbits(62)),  # fresh: caches never reuse it
            )
            conn.executemany(
                "INSERT INTO records (tag, doc, pos, payload) VALUES (?, ?, ?, ?) ON CONFLICT(tag) "
                "DO UPDATE SET doc = excluded.doc, pos = excluded.pos, payload = excluded.payload",
                [(bytes(t), bytes(d), int(q), bytes(pl)) for t, d, q, pl in placed],
            )

    def drop_block(self, block: int, released: list[tuple[bytes, bytes]], state: StateBlob) -> None:
        """Delete a block; released rows become pending with their re-sealed payloads, others go."""
        block = _pos(block, MAX_POS // N)
        lo = block * N
        with self.db.write() as conn:
            self._put_state(conn, state)
            conn.executemany(
                "UPDATE records SET pos = NULL, payload = ? WHERE tag = ? AND pos >= ? AND pos < ?",
                [(bytes(p), bytes(t), lo, lo + N) for t, p in released],
            )
            conn.execute("DELETE FROM records WHERE pos >= ? AND pos < ?", (lo, lo + N))
            conn.execute("DELETE FROM blocks WHERE id = ?", (int(block),))

    def _dim(self) -> int:
        return self._params()[0]

    def _refresh(self) -> tuple[list[Any], tuple[list[Row], StateBlob | None]]:
        """A consistent snapshot (groups, pending rows, state), rebuilt first if a write happened."""
        with self._cache_lock:
            self._rebuild(self._dim())
            return self._groups, self._snap

    def _rebuild(self, dim: int) -> None:
        with self.db.snapshot():  # blocks, pending rows and state from one committed write
            gen = self.db.generation()
            if gen == self._gen:
                return
            versions = [(int(a), int(b)) for a, b in self.db.query("SELECT id, ver FROM blocks ORDER BY id")]
            old = dict(self._groups)
            groups = []
            for start in range(0, len(versions), GROUP_BLOCKS):
                key = tuple(versions[start : start + GROUP_BLOCKS])
                array = old.get(key)
                if array is None:
                    array = np.empty((dim, N, len(key), 2), dtype=np.float64)
                    for i, (block, _ver) in enumerate(key):
                        (blob,) = self.db.query("SELECT data FROM blocks WHERE id = ?", (block,))[0]
                        if len(blob) != N * 2 * dim * 8:
                            array[:, :, i] = 0.0  # damaged: its canaries fail, the client reports it
                            continue
                        array[:, :, i] = (
                            np.frombuffer(blob, dtype=np.float64).reshape(N, 2, dim).transpose(2, 0, 1)
                        )
                groups.append((key, array))
            pending = [
                Row(*r) for r in self.db.query("SELECT * FROM records WHERE pos IS NULL ORDER BY rowid")
            ]
            self._snap = (pending, self._read_state())
            self._groups = groups
            current = {key for key, _a in groups}
            self._splits = {k: v for k, v in self._splits.items() if k in current}
            self._gen = gen

    @staticmethod
    def _result(
        groups: list[Any], snap: tuple[list[Row], StateBlob | None], parts: list[np.ndarray]
    ) -> ScanResult:
        ids = np.array([b for key, _a in groups for b, _v in key], dtype=np.int64)
        cts = np.concatenate(parts) if parts else np.zeros((0, 1, 2, N), dtype=np.uint64)
        return ScanResult(ids, cts, list(snap[0]), snap[1])

    def _params(self) -> tuple[int, int]:
        """(dim, prime) of the store; an error until a client has set them up."""
        meta = self.db.meta()
        try:
            return int(meta["dim"]), int(meta["ckks"]["prime"])
        except (KeyError, TypeError, ValueError):
            raise InputError(
                "This store has no parameters yet.", "Open it from a client first: that sets them up."
            ) from None

    def scan_plain(self, query: PlainQuery) -> ScanResult:
        dim, prime = self._params()
        w = np.asarray(query.weights)
        levels, radix = int(query.levels), int(query.radix_bits)
        if w.ndim != 2 or w.shape[0] != dim or not 1 <= radix <= 8 or levels < 1 or w.shape[1] % levels:
            raise InputError("Query shape does not match the store.", "Check the embedding dimension.")
        if int(query.queries) * levels != w.shape[1] or not np.all(np.isfinite(w)):
            raise InputError("Query shape does not match the store.", "Check the embedding dimension.")
        query = PlainQuery(w.astype(np.float64), int(query.queries), levels, radix)
        groups, snap = self._refresh()
        if self._scanner is not None:
            return self._result(groups, snap, self._scanner.scan_plain(groups, query, prime))
        with _blas_threads(self.threads):
            return self._result(groups, snap, [scan.scan_plain(a, query, prime) for _k, a in groups])

    def scan_encrypted(self, enc: np.ndarray, seeds: list[bytes] | None = None) -> ScanResult:
        """enc: (Q, D, 2, N) broadcast query ciphertexts (residues) -> (nb, Q, 3, N); with `seeds`,
        (Q, D, N) c0 halves whose c1 the host expands from the seeds.

        The first encrypted query splits the blocks into a float32 hi/lo copy that later ones reuse:
        encrypted-query mode holds twice the memory of plaintext-query mode.
        """
        dim, prime = self._params()
        enc = np.asarray(enc)
        if seeds is not None:
            if (
                enc.ndim != 3
                or len(seeds) != len(enc)
                or any(not isinstance(x, bytes) or len(x) != 32 for x in seeds)
            ):
                raise InputError(
                    "Encrypted query seeds do not match.", "Check that client and server versions match."
                )
            c1 = np.stack([uniform_from_seed(x, enc.shape[1:], prime) for x in seeds])
            enc = np.stack([enc, c1], axis=2)
        if enc.ndim != 4 or enc.shape[1:] != (dim, 2, N) or enc.dtype.kind not in "iu":
            raise InputError("Encrypted query does not match the store.", "Check the embedding dimension.")
        if np.any(enc < 0) or np.any(enc >= prime):
            raise InputError("Encrypted query does not match the store.", "Check the embedding dimension.")
        groups, snap = self._refresh()
        if self._scanner is not None:
            return self._result(
                groups, snap, self._scanner.scan_encrypted(groups, enc.astype(np.int64), prime)
            )
        with self._cache_lock:
            for key, array in groups:
                if key not in self._splits:
                    self._splits[key] = scan.split_blocks(array)
            splits = [self._splits[key] for key, _a in groups]
        with _blas_threads(1):
            cts = scan.scan_encrypted(splits, enc.astype(np.int64), prime, workers=self.threads)
        return self._result(groups, snap, cts)

    # ---- manifest --------------------------------------------------------------------------
    def manifest_put(self, tag: bytes, value: bytes) -> None:
        with self.db.write() as conn:
            conn.execute("INSERT OR REPLACE INTO manifest VALUES (?, ?)", (tag, value))

    def manifest_all(self) -> list[tuple[bytes, bytes]]:
        return [(bytes(t), bytes(v)) for t, v in self.db.query("SELECT tag, value FROM manifest")]

    def manifest_delete(self, tag: bytes) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM manifest WHERE tag = ?", (tag,))

    def scan_memory(self) -> dict[str, Any]:
        """Where the scan runs and the bytes its resident copies of the blocks hold."""
        if self._scanner is not None:
            return {"device": str(self._scanner.device), "bytes": self._scanner.memory_bytes()}
        held = sum(a.nbytes for _k, a in self._groups) + sum(a.nbytes for a in self._splits.values())
        return {"device": "numpy", "bytes": int(held)}

    def vacuum(self) -> None:
        self.db.query("VACUUM")

    def close(self) -> None:
        self.db.close()


LocalBackend = LocalHost  # the name before the StoreHost protocol
