"""The store host's operations (no key): rows, blocks, scans. Embedded in-process or behind HTTP.

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
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from encrypted_store import scan
from encrypted_store.ckks import N
from encrypted_store.db import Database
from encrypted_store.errors import InputError

GROUP_BLOCKS = 16  # 64k records, ~400 MB per group at 384 dims


def _blas_threads(count: int) -> Any:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it BLAS keeps its default thread count
        return contextlib.nullcontext()
    return threadpool_limits(count, user_api="blas")


@dataclass(frozen=True)
class Row:
    tag: bytes
    doc: bytes
    pos: int | None
    payload: bytes


@dataclass(frozen=True)
class ScanResult:
    blocks: np.ndarray  # (nb,) int64 block ids
    cts: np.ndarray  # (nb, Q, size, N) uint64 result ciphertexts
    live: np.ndarray  # (nb, N) bool: slot holds a current record


class LocalBackend:
    """Everything the untrusted host does, on one SQLite file."""

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
        self._live: dict[int, np.ndarray] = {}
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
        """Record public parameters on first use; later calls leave them as they are."""
        with self.db.write() as conn:
            for key, value in meta.items():
                conn.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, json.dumps(value)))
        return self.info()

    # ---- rows ------------------------------------------------------------------------------
    def append(self, rows: list[tuple[bytes, bytes, bytes]]) -> None:
        """Insert or replace records as pending; a replaced record's old slot becomes dead."""
        with self.db.write() as conn:
            conn.executemany(
                "INSERT INTO records (tag, doc, pos, payload) VALUES (?, ?, NULL, ?) ON CONFLICT(tag) "
                "DO UPDATE SET doc = excluded.doc, pos = NULL, payload = excluded.payload",
                rows,
            )

    def delete(self, tags: list[bytes]) -> int:
        with self.db.write() as conn:
            return sum(conn.execute("DELETE FROM records WHERE tag = ?", (t,)).rowcount for t in tags)

    def delete_doc(self, doc: bytes) -> int:
        with self.db.write() as conn:
            return int(conn.execute("DELETE FROM records WHERE doc = ?", (doc,)).rowcount)

    def fetch(self, tags: list[bytes] | None = None, positions: list[int] | None = None) -> list[Row]:
        out: list[Row] = []
        if tags:
            for i in range(0, len(tags), 500):
                part = tags[i : i + 500]
                marks = ",".join("?" * len(part))
                out += [Row(*r) for r in self.db.query(f"SELECT * FROM records WHERE tag IN ({marks})", part)]
        if positions:
            for i in range(0, len(positions), 500):
                part = [int(p) for p in positions[i : i + 500]]
                marks = ",".join("?" * len(part))
                out += [Row(*r) for r in self.db.query(f"SELECT * FROM records WHERE pos IN ({marks})", part)]
        return out

    def pending(self) -> list[Row]:
        return [Row(*r) for r in self.db.query("SELECT * FROM records WHERE pos IS NULL ORDER BY rowid")]

    def block_rows(self, block: int) -> list[Row]:
        lo = block * N
        sql = "SELECT * FROM records WHERE pos >= ? AND pos < ? ORDER BY pos"
        return [Row(*r) for r in self.db.query(sql, (lo, lo + N))]

    def blocks(self) -> list[tuple[int, int]]:
        """(block id, slots used) for every block."""
        return [(int(a), int(b)) for a, b in self.db.query("SELECT id, used FROM blocks ORDER BY id")]

    # ---- blocks ----------------------------------------------------------------------------
    def write_block(self, block: int | None, data: bytes, placed: list[tuple[bytes, int, bytes]]) -> int:
        """Store (or replace) one block and place its records at their slots, atomically."""
        if len(data) % (N * 2 * 8):
            raise InputError("A block has the wrong size.", "Check that client and server versions match.")
        with self.db.write() as conn:
            if block is None:
                block = int(conn.execute("SELECT coalesce(max(id) + 1, 0) FROM blocks").fetchone()[0])
            lo = block * N
            conn.execute("UPDATE records SET pos = NULL WHERE pos >= ? AND pos < ?", (lo, lo + N))
            used = max((pos - lo for _t, pos, _p in placed), default=0) + 1
            conn.execute(
                "INSERT INTO blocks VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET data = excluded.data,"
                " used = excluded.used, ver = excluded.ver",
                (block, data, used, secrets.randbits(62)),  # a fresh version: caches never reuse a stale copy
            )
            if any(not lo <= pos < lo + N for _t, pos, _p in placed):
                raise InputError("A record was placed outside its block.", "Report this as a bug.")
            conn.executemany(
                "UPDATE records SET pos = ?, payload = ? WHERE tag = ?", [(q, pl, t) for t, q, pl in placed]
            )
        return block

    def drop_block(self, block: int, released: list[tuple[bytes, bytes]]) -> None:
        """Delete a block; its records become pending with the re-sealed payloads given, atomically."""
        with self.db.write() as conn:
            conn.execute(
                "UPDATE records SET pos = NULL WHERE pos >= ? AND pos < ?", (block * N, block * N + N)
            )
            conn.execute("DELETE FROM blocks WHERE id = ?", (block,))
            conn.executemany("UPDATE records SET payload = ? WHERE tag = ?", [(p, t) for t, p in released])

    def _refresh(self, dim: int) -> tuple[list[Any], dict[int, np.ndarray]]:
        """A consistent snapshot (groups, live masks), rebuilt first if a write happened."""
        with self._cache_lock:
            self._rebuild(dim)
            return self._groups, self._live

    def _rebuild(self, dim: int) -> None:
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
                        array[:, :, i] = 0.0  # damaged: its canary will not decrypt, the client reports it
                        continue
                    array[:, :, i] = (
                        np.frombuffer(blob, dtype=np.float64).reshape(N, 2, dim).transpose(2, 0, 1)
                    )
            groups.append((key, array))
        self._groups = groups
        current = {key for key, _a in groups}
        self._splits = {k: v for k, v in self._splits.items() if k in current}
        live: dict[int, np.ndarray] = {b: np.zeros(N, dtype=bool) for b, _v in versions}
        pos = np.array(
            [p for (p,) in self.db.query("SELECT pos FROM records WHERE pos IS NOT NULL")], dtype=np.int64
        )
        for block in np.unique(pos // N) if pos.size else []:
            if int(block) in live:
                live[int(block)][pos[pos // N == block] % N] = True
        self._live = live
        self._gen = gen

    @staticmethod
    def _result(
        groups: list[Any], live_by_block: dict[int, np.ndarray], parts: list[np.ndarray]
    ) -> ScanResult:
        ids = np.array([b for key, _a in groups for b, _v in key], dtype=np.int64)
        live = np.stack([live_by_block[int(b)] for b in ids]) if ids.size else np.zeros((0, N), dtype=bool)
        cts = np.concatenate(parts) if parts else np.zeros((0, 1, 2, N), dtype=np.uint64)
        return ScanResult(ids, cts, live)

    def scan_plain(self, query: scan.PlainQuery, dim: int, prime: int) -> ScanResult:
        groups, live = self._refresh(dim)
        if self._scanner is not None:
            return self._result(groups, live, self._scanner.scan_plain(groups, query, prime))
        with _blas_threads(self.threads):
            return self._result(groups, live, [scan.scan_plain(a, query, prime) for _k, a in groups])

    def scan_encrypted(self, enc_queries: np.ndarray, dim: int, prime: int) -> ScanResult:
        """enc_queries: (Q, D, 2, N) broadcast query ciphertexts (residues) -> (nb, Q, 3, N).

        The first encrypted query splits the blocks into a float32 hi/lo copy that later ones reuse:
        encrypted-query mode holds twice the memory of plaintext-query mode.
        """
        groups, live = self._refresh(dim)
        if self._scanner is not None:
            return self._result(groups, live, self._scanner.scan_encrypted(groups, enc_queries, prime))
        with self._cache_lock:
            for key, array in groups:
                if key not in self._splits:
                    self._splits[key] = scan.split_blocks(array)
            splits = [self._splits[key] for key, _a in groups]
        with _blas_threads(1):
            cts = scan.scan_encrypted(splits, enc_queries, prime, workers=self.threads)
        return self._result(groups, live, cts)

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
