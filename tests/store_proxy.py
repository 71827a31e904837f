"""Test helpers: a recording reverse proxy on 127.0.0.1 (the host's view of the traffic), a decoder
that tries to rebuild query vectors from it, a store server whose host tampers on demand, and the
host's database as an attacker reads it (which rows share a doc value)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from encrypted_store import server, wire
from encrypted_store.backend import LocalHost
from encrypted_store.host import PlainQuery, decode

TOKEN = "test-token-123"


@dataclass
class Exchange:
    method: str
    request: bytes
    response: bytes

    def args(self) -> dict[str, Any]:
        header, arrays = wire.unpack(self.request)
        return decode(header.get("args") or {}, arrays)  # type: ignore[no-any-return]


class RecordingProxy(ThreadingHTTPServer):
    """Forwards every POST to `upstream` and keeps each request and response body."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.log: list[Exchange] = []
        self.lock = threading.Lock()
        self.http = httpx.Client(timeout=120, trust_env=False)
        super().__init__(("127.0.0.1", 0), _ProxyHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def calls(self, method: str) -> list[Exchange]:
        with self.lock:
            return [e for e in self.log if e.method == method]


class _ProxyHandler(BaseHTTPRequestHandler):
    server: RecordingProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        auth = self.headers.get("Authorization", "")
        resp = self.server.http.post(
            self.server.upstream + self.path, content=body, headers={"Authorization": auth}
        )
        with self.server.lock:
            self.server.log.append(Exchange(self.path.removeprefix("/v1/"), body, resp.content))
        self.send_response(resp.status_code)
        self.send_header("Content-Type", resp.headers.get("Content-Type", "application/octet-stream"))
        self.send_header("Content-Length", str(len(resp.content)))
        self.end_headers()
        self.wfile.write(resp.content)


def best_cosine(body: bytes, truth: np.ndarray) -> float:
    """The host's best attempt at a query vector from one request body: the largest |cosine| between
    any decoded candidate (digit columns recombined at every radix, raw columns, centred ciphertext
    coefficients) and any of the true query rows."""
    header, arrays = wire.unpack(body)
    try:
        args = decode(header.get("args") or {}, arrays)
    except (KeyError, TypeError, ValueError):
        args = {}
    values = list(arrays.values())
    for value in args.values() if isinstance(args, dict) else []:
        if isinstance(value, PlainQuery):
            values.append(value.weights)
    dim = truth.shape[1]
    cands: list[np.ndarray] = []
    for arr in values:
        a = np.asarray(arr)
        if a.ndim == 2 and a.shape[0] == dim:
            w = a.astype(np.float64)
            cands += list(w.T)
            for radix in range(1, 9):
                for levels in range(1, w.shape[1] + 1):
                    if w.shape[1] % levels == 0:
                        d = w.reshape(dim, -1, levels)
                        cands += list((d * (float(1 << radix) ** np.arange(levels))).sum(axis=2).T)
        if a.ndim == 3 and a.shape[1] == dim and a.dtype.kind in "iu":  # seeded: c0 halves only
            a = a[:, :, None, :]
        if a.ndim == 4 and a.shape[1] == dim and a.dtype.kind in "iu":
            c = a.astype(np.float64)
            p = 8796092858369.0
            c = np.where(c > p / 2, c - p, c)
            for q in range(a.shape[0]):
                for poly in range(a.shape[2]):
                    for j in (0, 1, a.shape[3] // 2, a.shape[3] - 1):
                        cands.append(c[q, :, poly, j])
    best = 0.0
    t = truth / np.linalg.norm(truth, axis=1, keepdims=True)
    for cand in cands:
        norm = np.linalg.norm(cand)
        if norm > 0 and np.all(np.isfinite(cand)):
            best = max(best, float(np.max(np.abs(t @ (cand / norm)))))
    return best


class TamperingHost(LocalHost):
    """A LocalHost that attacks when told to (`attacks`); honest otherwise."""

    attacks: set[str] = set()
    old_state: Any = None
    old_rows: dict[bytes, bytes] = {}

    def _tamper(self, res: Any) -> Any:
        from encrypted_store.host import ScanResult

        cts, blocks, state = res.cts, res.blocks, res.state
        prime = int(self.db.meta()["ckks"]["prime"])
        if "score_offset" in self.attacks:  # the attack: (0, 2^27) added to every score
            cts = cts.copy()
            cts[:, :, 1] = (cts[:, :, 1] + np.uint64(1 << 27)) % np.uint64(prime)
        if "flip_state" in self.attacks and state is not None:
            blob = bytearray(state[1])
            blob[-1] ^= 1
            state = (state[0], bytes(blob))
        if "old_state" in self.attacks:
            state = self.old_state
        if "no_state" in self.attacks:
            state = None
        if "drop_block" in self.attacks:
            blocks, cts = blocks[1:], cts[1:]
        return ScanResult(blocks, cts, res.pending, state)

    def scan_plain(self, query: Any) -> Any:
        return self._tamper(super().scan_plain(query))

    def scan_encrypted(self, enc: Any, seeds: Any = None) -> Any:
        return self._tamper(super().scan_encrypted(enc, seeds))

    def state(self) -> Any:
        if "old_state" in self.attacks:
            return self.old_state
        if "no_state" in self.attacks:
            return None
        return super().state()

    def fetch(self, tags: Any = None, positions: Any = None) -> Any:
        from encrypted_store.host import Row

        rows = super().fetch(tags, positions)
        if "no_rows" in self.attacks:
            return []
        if "old_rows" in self.attacks:
            rows = [Row(r.tag, r.doc, r.pos, self.old_rows.get(r.tag, r.payload)) for r in rows]
        return rows


@contextmanager
def tampering_server(db_path: Path) -> Iterator[server.StoreServer]:
    """A real StoreServer on 127.0.0.1 whose host is a TamperingHost."""
    srv = server.StoreServer(db_path, "127.0.0.1", 0, TOKEN)
    srv.backend.__class__ = TamperingHost
    srv.backend.attacks = set()
    srv.methods = server._dispatch(srv.backend, srv.limits)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


@contextmanager
def recording_proxy(upstream: str) -> Iterator[RecordingProxy]:
    proxy = RecordingProxy(upstream)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
        proxy.http.close()


# ---- the host's database, read as an attacker on that machine would ------------------------------
def shared_doc_values(db_path: Path) -> dict[bytes, int]:
    """doc values of the host's `records` table that two or more rows carry (value -> row count)."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        rows = conn.execute("SELECT doc, count(*) FROM records GROUP BY doc HAVING count(*) > 1").fetchall()
    return {bytes(d): int(n) for d, n in rows}


def old_doc_value(ring: Any, doc: str) -> bytes:
    """A row's doc value as store format 2 wrote it: the HMAC of its document key (links its rows)."""
    return hmac.new(ring.subkey("store/doc"), doc.encode(), hashlib.sha256).digest()[:16]


def record_tag(ring: Any, record_id: str) -> bytes:
    """The host's name for a record (`EncryptedStore._tag`)."""
    return hmac.new(ring.subkey("store/record-id"), record_id.encode(), hashlib.sha256).digest()[:16]


def write_format_2_rows(db_path: Path, ring: Any, docs: dict[str, str]) -> None:
    """Turn a host database into what format 2 left on disk: each record's row carries its document's
    HMAC (`docs`: record id -> document key), `meta.format` is 2, the doc index is back (schema 3)."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(db_path)) as conn, conn:
        conn.executemany(
            "UPDATE records SET doc = ? WHERE tag = ?",
            [(old_doc_value(ring, doc), record_tag(ring, rid)) for rid, doc in docs.items()],
        )
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'format'")
        conn.execute("CREATE INDEX IF NOT EXISTS records_doc ON records (doc)")
        conn.execute("PRAGMA user_version = 3")
