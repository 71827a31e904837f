"""Fuzzing the store server on 127.0.0.1: thousands of malformed or hostile requests (fixed seed,
bounded count), each answered 4xx, and the server still answers valid requests correctly after."""

from __future__ import annotations

import json
import random
import socket
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np

from assistant.config import load_settings
from assistant.wiring import create_keys, open_store
from encrypted_store import scan, server
from encrypted_store.api import RecordIn

FAST_KDF = {"time_cost": 1, "memory_kib": 8192, "parallelism": 1}
TOKEN = "fuzz-token-42"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
COUNT = 2400  # hostile requests
BUDGET_S = 240.0  # a hard stop, so a regression cannot hang the suite

Body = tuple[str, bytes]  # (store method, body)


def message(header: object, arrays: dict[str, np.ndarray] | None = None) -> bytes:
    arrays = arrays or {}
    if isinstance(header, dict):
        header = {**header, "arrays": [[n, a.dtype.str, list(a.shape)] for n, a in arrays.items()]}
    head = json.dumps(header).encode()
    return struct.pack("<I", len(head)) + head + b"".join(a.tobytes() for a in arrays.values())


BAD_INT = [-1, -(2**70), 2**70, 2**63, 1.5, "7", True, [], {}, [1]]
BAD_B64 = ["not base64!", "abc", 5, None, [], {}, "AAA=A", "€€€€"]
BAD_LIST = ["AAAA", 5, {}, True, [5], [None], [[1]], [2**70]]
VALID: dict[str, dict[str, object]] = {  # a well-formed header per method, and its fields' kinds
    "block_rows": {"block": 0},
    "delete": {"tags": ["AAAAAAAAAAAAAAAAAAAAAA=="]},
    "delete_doc": {"doc": "AAAAAAAAAAAAAAAAAAAAAA=="},
    "fetch": {"tags": ["AAAAAAAAAAAAAAAAAAAAAA=="], "positions": [1]},
    "drop_block": {"block": 0, "released": []},
    "append": {"rows": [["AAAA", "AAAA", "AAAA"]]},
    "manifest_put": {"tag": "AAAA", "value": "AAAA"},
    "manifest_delete": {"tag": "AAAA"},
}
KINDS = {
    "block": BAD_INT,
    "tags": BAD_LIST,
    "positions": [x for x in BAD_LIST if x != [5]] + [[-1], ["1"], [1.5]],
    "doc": BAD_B64,
}
KINDS |= {"released": BAD_LIST + [[["AAAA"]]], "rows": BAD_LIST + [[["AAAA", "AAAA"]]], "tag": BAD_B64}
KINDS |= {"value": BAD_B64}
WEIGHTS_BAD: list[Callable[[random.Random], np.ndarray]] = [
    lambda r: np.full((384, 7), np.nan),
    lambda r: np.full((384, 7), np.inf),
    lambda r: np.full((384, 7), 0.5),
    lambda r: np.full((384, 7), float(r.randint(5, 10**6))),
    lambda r: np.zeros((384, 7), dtype=np.int64),
    lambda r: np.zeros((384, r.randint(8, 40))),
    lambda r: np.zeros((r.randint(1, 383), 7)),
    lambda r: np.zeros((384, 7, 1)),
    lambda r: np.zeros(384 * 7),
]


def hostile(rng: random.Random, valid_scan: bytes, prime: int) -> tuple[str, bytes]:
    """One hostile (method, body), every one of which must be refused."""
    kind = rng.randrange(9)
    if kind == 0:  # random bytes
        return rng.choice(list(VALID) + ["scan_plain", "info"]), rng.randbytes(rng.randint(0, 300))
    if kind == 1:  # a valid message with one field made hostile
        method = rng.choice(list(VALID))
        header = dict(VALID[method])
        field = rng.choice(list(header))
        header[field] = rng.choice(KINDS[field])
        return method, message(header)
    if kind == 2:  # a required field missing
        method = rng.choice([m for m in VALID if m != "fetch"])
        header = dict(VALID[method])
        del header[rng.choice(list(header))]
        return method, message(header)
    if kind == 3:  # hostile scan headers
        header: dict[str, object] = {"queries": 1, "levels": 7, "radix_bits": 3}
        field = rng.choice(list(header))
        header[field] = rng.choice([*BAD_INT, 0, 10**6, -3])
        return "scan_plain", message(header, {"weights": np.zeros((384, 7))})
    if kind == 4:  # hostile query weights
        weights = rng.choice(WEIGHTS_BAD)(rng)
        return "scan_plain", message({"queries": 1, "levels": 7, "radix_bits": 3}, {"weights": weights})
    if kind == 5:  # hostile encrypted queries
        enc = rng.choice(
            [
                np.full((1, 384, 2, 8), -1, dtype=np.int64),
                np.zeros((65, 1, 2, 1), dtype=np.int64),
                np.zeros((1, 384, 2, 8)),
                np.zeros((1, 383, 2, 8), dtype=np.int64),
            ]
        )
        if rng.random() < 0.1:  # the right shape (25 MB), values out of range
            enc = np.full((1, 384, 2, 4096), prime, dtype=np.int64)
        return "scan_encrypted", message({}, {"enc": enc})
    if kind == 6:  # a valid scan cut short, or with bytes added
        cut = rng.randint(0, len(valid_scan) - 1)
        body = valid_scan[:cut] if rng.random() < 0.7 else valid_scan + rng.randbytes(rng.randint(1, 9))
        return "scan_plain", body
    if kind == 7:  # non-object headers and hostile JSON
        text = rng.choice(['"string"', "[1,2]", "null", "3", '{"a": NaN}', '{"a": 1e999}', "[" * 3000])
        head = text.encode()
        return rng.choice(["info", "blocks", "pending"]), struct.pack("<I", len(head)) + head
    spec = rng.choice(
        [["a", "|O", [1]], ["a", "<f8", [-1]], ["a", "<f8", [2**32, 2**32]], ["a", "<c16", [1]]]
    )
    head = json.dumps({"arrays": [spec]}).encode()
    return "info", struct.pack("<I", len(head)) + head + b"\0" * 16


RAW = [  # whole requests on a socket: bad HTTP, bad auth, bad lengths
    b"GARBAGE\r\n\r\n",
    b"POST /v1/info HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    b"POST /v1/info HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nContent-Length: 0\r\n\r\n",
    b"POST /v1/info HTTP/1.1\r\nHost: x\r\nAuthorization: Basic Zm9vOmJhcg==\r\nContent-Length: 0\r\n\r\n",
    b"POST /v1/info HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode() + b"\r\n\r\n",
    b"POST /v1/info HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
    + TOKEN.encode()
    + b"\r\nContent-Length: -1\r\n\r\n",
    b"POST /v1/info HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
    + TOKEN.encode()
    + b"\r\nContent-Length: 99999999999\r\n\r\n",
    b"POST /v1/nope HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
    + TOKEN.encode()
    + b"\r\nContent-Length: 0\r\n\r\n",
    b"GET /v1/info HTTP/1.1\r\nHost: x\r\n\r\n",
    b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /v1/info HTTP/1.1\r\n" + b"X-A: b\r\n" * 150 + b"\r\n",
    b"POST /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
]


def raw_status(port: int, request: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        head = sock.recv(64)
    return int(head.split(b" ", 2)[1])


def test_fuzzed_server_answers_4xx_and_keeps_working(tmp_path: Path) -> None:
    rng = random.Random(20261130)
    srv = server.serve(tmp_path / "srv.db", "127.0.0.1", 0, TOKEN, max_body=32 * 1024 * 1024)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    ring = create_keys(load_settings(), "pw", kdf=FAST_KDF)
    st = open_store(load_settings(store_url=url, store_token=TOKEN), ring)
    x = np.random.default_rng(5).standard_normal((60, 384)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    st.add([RecordIn(f"r{i}", f"note {i}", v, f"doc{i % 7}") for i, v in enumerate(x)])
    st.flush()
    st.add([RecordIn("p0", "pending note", x[0], "docp")])  # one pending row too

    def expected() -> list[list[str]]:
        return [[h.record.id for h in row] for row in st.search(x[:3], k=4)]

    before, count = expected(), st.count()

    valid_scan = message(
        {"queries": 1, "levels": 7, "radix_bits": 3},
        {"weights": scan.plain_query(x[:1], ring.ckks_params["query_bits"]).weights},
    )
    statuses: dict[int, int] = {}
    failures: list[tuple[str, int, str]] = []
    deadline = time.monotonic() + BUDGET_S
    sent = 0
    try:
        with httpx.Client(timeout=30, trust_env=False) as client:
            while sent < COUNT and time.monotonic() < deadline:
                if rng.random() < 0.1:
                    request = rng.choice(RAW)
                    status, what = raw_status(srv.server_address[1], request), request[:40].decode("latin-1")
                else:
                    method, body = hostile(rng, valid_scan, st.kit.prime)
                    resp = client.post(f"{url}/v1/{method}", content=body, headers=AUTH)
                    status, what = resp.status_code, f"{method}: {body[:60]!r}"
                statuses[status] = statuses.get(status, 0) + 1
                if not 400 <= status < 500:
                    failures.append((what, status, ""))
                sent += 1
                if sent % 400 == 0:
                    assert expected() == before, f"results changed after {sent} hostile requests"
        assert sent >= 2000, f"only {sent} hostile requests in {BUDGET_S} s"
        assert not failures, failures[:10]
        assert statuses.get(400, 0) > 1000 and {401, 404, 405, 411, 413} <= set(statuses), statuses
        assert expected() == before and st.count() == count
        assert st.get(["r5"])[0].text == "note 5" and st.last_warnings == []
        st.close()
    finally:
        srv.shutdown()
        srv.server_close()
