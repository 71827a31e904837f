"""One side of the fetch-protocol comparison: search a store through `assistant store serve` on
127.0.0.1 and count time and bytes on the wire per search. Runs under whichever `encrypted_store`
is first on PYTHONPATH (this branch, or an older commit exported by `encrypted_search.py
--fetch-protocol`), so it only uses calls both have.

Usage: PYTHONPATH=. python bench/store_fetch.py --records 100000 --queries 9
"""

from __future__ import annotations

import argparse
import inspect
import json
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import load_settings
from assistant.wiring import create_keys, open_store
from encrypted_store import server
from encrypted_store.api import RecordIn
from encrypted_store.client import HttpBackend
from encrypted_store.store import EncryptedStore

FAST_KDF = {"time_cost": 1, "memory_kib": 8192, "parallelism": 1}
TOKEN = "bench-token"


def dataset(n: int, dim: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    """Clustered unit vectors (as in encrypted_search.py) and perturbed records as queries."""
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((max(10, n // 100), dim)).astype(np.float32)
    x = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = x[rng.integers(0, n, queries)] + 0.1 * rng.standard_normal((queries, dim)).astype(np.float32)
    return x, (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


class Wire:
    """Counts request and response bytes per method on an httpx client."""

    def __init__(self, http: Any) -> None:
        self.up: dict[str, int] = defaultdict(int)
        self.down: dict[str, int] = defaultdict(int)
        self.calls: dict[str, int] = defaultdict(int)
        real = http.post

        def post(url: str, content: bytes = b"", **kw: Any) -> Any:
            resp = real(url, content=content, **kw)
            name = url.rsplit("/", 1)[-1]
            self.up[name] += len(content)
            self.down[name] += len(resp.content)
            self.calls[name] += 1
            return resp

        http.post = post

    def reset(self) -> None:
        self.up.clear()
        self.down.clear()
        self.calls.clear()


def measure(records: int, queries: int, k: int) -> dict[str, Any]:
    x, q = dataset(records, 384, queries + 1)
    out: dict[str, Any] = {"records": records, "k": k, "queries": queries}
    with tempfile.TemporaryDirectory(prefix="bench-fetch-") as home:
        settings = load_settings(home=Path(home), store_url=None)
        ring = create_keys(settings, "bench", kdf=FAST_KDF)
        st = open_store(settings, ring, dim=384)
        start = time.perf_counter()
        for lo in range(0, records, 4000):
            st.add(
                [
                    RecordIn(f"r{i}", f"record {i} " * (1 + i % 40), x[i], f"d{i // 10}", {})
                    for i in range(lo, min(records, lo + 4000))
                ]
            )
        st.close()
        out["build_s"] = round(time.perf_counter() - start, 1)
        srv = server.serve(settings.store_path, "127.0.0.1", 0, TOKEN)
        thread = threading.Thread(target=srv.serve_forever, daemon=True)
        thread.start()
        try:
            host = HttpBackend(f"http://127.0.0.1:{srv.server_address[1]}", TOKEN)
            new = "plaintext_remote_queries" in inspect.signature(EncryptedStore).parameters
            client = EncryptedStore(host, ring, 384, **({"plaintext_remote_queries": True} if new else {}))
            wire = Wire(host._http)
            client.kit._refill = lambda count: None  # encryptions of zero made by hand, untimed
            for encrypted in (False, True):
                times = []
                client.search(q[-1], k=k, encrypted_query=encrypted)  # warm the caches
                wire.reset()
                for i in range(queries):
                    if encrypted:
                        client.kit._pool[384] = client.kit._make_zeros(384)  # the offline half
                    begin = time.perf_counter()
                    client.search(q[i], k=k, encrypted_query=encrypted)
                    times.append(time.perf_counter() - begin)
                mode = "encrypted" if encrypted else "plain"
                out[mode] = {
                    "query_s": round(statistics.median(times), 4),
                    "bytes_up_per_search": round(sum(wire.up.values()) / queries),
                    "bytes_down_per_search": round(sum(wire.down.values()) / queries),
                    "requests_per_search": round(sum(wire.calls.values()) / queries, 2),
                    "fetch_bytes_down_per_search": round(wire.down.get("fetch", 0) / queries),
                    "by_method": {m: wire.calls[m] / queries for m in sorted(wire.calls)},
                }
            client.close()
        finally:
            srv.shutdown()
            srv.server_close()
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--queries", type=int, default=7)
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args()
    print(json.dumps(measure(args.records, args.queries, args.k)))
