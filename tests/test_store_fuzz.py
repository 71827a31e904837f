"""Fuzzing the store server on 127.0.0.1: thousands of malformed or hostile requests (fixed seed,
bounded count), each answered 4xx, and the server still answers valid requests correctly after."""

from __future__ import annotations

import base64
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
from encrypted_store.host import encode
from tests.helpers import FAST_KDF

TOKEN = "fuzz-token-42"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
COUNT = 2400  # hostile requests
BUDGET_S = 240.0  # a hard stop, so a regression cannot hang the suite


def message(header: object, arrays: dict[str, np.ndarray] | None = None) -> bytes:
    """A wire message whose header may be anything JSON holds (wire.pack needs a well-formed one)."""
    arrays = arrays or {}
    if isinstance(header, dict):
        header = {**header, "arrays": [[n, a.dtype.str, list(a.shape)] for n, a in arrays.items()]}
    head = json.dumps(header).encode()
    return struct.pack("<I", len(head)) + head + b"".join(a.tobytes() for a in arrays.values())


def call(args: object, arrays: dict[str, np.ndarray] | None = None) -> bytes:
    """A request in the protocol's encoding: keyword arguments under "args" (see `host.encode`)."""
    return message({"args": args}, arrays)


def b(data: bytes) -> dict[str, str]:
    return {"$b": base64.b64encode(data).decode()}


T = b(bytes(16))  # a tag
ST = [1, b(b"sealed")]  # a client state: well-formed, but stale (the host refuses it if it gets there)
BAD_INT = [-1, 2**70, 2**63, 2**40, 1.5, "7", True, [], {}, [1], None, b(b"\0")]
BAD_BYTES = ["AAAA", 5, None, [], {}, True, {"$b": "not base64!"}, {"$b": "AAA=A"}, {"$b": 5}]
BAD_BYTES += [{"$b": "€€€€"}, {"$a": "a9"}, {"$Row": {"tag": T}}, [T]]
BAD_TAG = [*BAD_BYTES, b(bytes(65))]
BAD_LIST = ["AAAA", 5, {}, True, T, [5], [None], [[1]], [2**70], ["AAAA"], [{"$b": "!!"}]]
VALID: dict[str, dict[str, object]] = {  # well-formed arguments per method; every field is mutated
    "block_rows": {"block": 0},
    "delete": {"tags": [T], "state": ST},
    "fetch": {"tags": [T], "positions": [1]},
    "drop_block": {"block": 0, "released": [[T, b(b"x")]], "state": ST},
    "append": {"rows": [[T, T, b(b"x")]], "state": ST},
    "write_block": {"block": 0, "data": {"$a": "a0"}, "placed": [[T, T, 7, b(b"x")]], "state": ST},
    "manifest_put": {"tag": T, "value": b(b"x")},
    "manifest_delete": {"tag": T},
    "setup": {"meta": {"note": "x"}},
}
DATA = {"a0": np.zeros(16)}  # write_block's block data (the wrong size: the host refuses it too)
KINDS: dict[str, list[object]] = {
    "block": BAD_INT,
    "tags": BAD_LIST + [[b(bytes(65))]],
    "positions": [x for x in BAD_LIST if x != [5]] + [[-1], ["1"], [1.5], [2**40], [True]],
    "rows": BAD_LIST + [[[T, T]], [[T, T, "AAAA"]], [[T, T, T, T]], [[T, 5, T]]],
    "placed": BAD_LIST + [[[T, T, -1, T]], [[T, T, 2**40, T]], [[T, T, T]], [[T, T, "1", T]]],
    "released": BAD_LIST + [[[T]], [[T, 5]], [[T, T, T]]],
    "state": [[1], [1, "AAAA"], ["1", T], [0, T], [2**62 + 1, T], [True, T], "x", None, T, [1, T, T]],
    "tag": BAD_TAG,
    "value": BAD_BYTES,
    "data": [{"$a": "zz"}, T, [0.0] * 4, None, 5],
    "meta": [5, [1], "x", None, T, {"dim": "384"}, {"dim": 0}, {"dim": 2**20}, {"ckks": {"prime": -1}}],
}
KINDS["meta"] += [
    {"ckks": 5},
    {"x": T},
    {"x": {"$Row": {"tag": T, "doc": T, "pos": 0, "payload": T}}},
    {"format": 1.5},
    {str(i): 0 for i in range(65)},
    {"x": float("nan")},
]
WEIGHTS_BAD: list[Callable[[random.Random, int], np.ndarray]] = [
    lambda r, c: np.full((384, c), np.nan),
    lambda r, c: np.full((384, c), np.inf),
    lambda r, c: np.full((384, c), 0.5),
    lambda r, c: np.full((384, c), float(r.randint(5, 10**6))),
    lambda r, c: np.full((384, c), -5.0),
    lambda r, c: np.zeros((384, c), dtype=np.int64),
    lambda r, c: np.zeros((384, c + r.randint(1, 40))),
    lambda r, c: np.zeros((384, c, 1)),
    lambda r, c: np.zeros(384 * c),
    lambda r, c: np.zeros((4097, c)),
    lambda r, c: np.zeros((r.randint(1, 383), c)),  # within the caps: the host knows the store's dim
]
SEEDS_BAD = [None, [], [b(bytes(32))] * 2, [b(bytes(31))], ["AAAA"], b(bytes(32)), [None]]


def plain(query: dict[str, object], weights: np.ndarray) -> bytes:
    return call({"query": {"$PlainQuery": {**query, "weights": {"$a": "a0"}}}}, {"a0": weights})


def hostile(rng: random.Random, valid_scan: bytes, q: dict[str, int]) -> tuple[str, bytes, bool]:
    """One hostile (method, body, checked): every one must be refused; `checked`: by the argument
    checks themselves (a reply naming the request), not only by the host or the wire format."""
    kind = rng.randrange(10)
    if kind == 0:  # random bytes
        return rng.choice([*VALID, "scan_plain", "info"]), rng.randbytes(rng.randint(0, 300)), False
    if kind == 1:  # well-formed arguments with one made hostile
        method = rng.choice(list(VALID))
        args = dict(VALID[method])
        field = rng.choice(list(args))
        args[field] = rng.choice(KINDS[field])
        return method, call(args, DATA if "data" in args else None), True
    if kind == 2:  # a required argument missing
        method = rng.choice([m for m in VALID if m != "fetch"])
        args = dict(VALID[method])
        del args[rng.choice(list(args))]
        return method, call(args, DATA if "data" in args else None), True
    if kind == 3:  # hostile scan parameters
        query: dict[str, object] = dict(q)
        field = rng.choice(list(query))
        query[field] = rng.choice([*BAD_INT, 0, 10**6, -3, 9 if field == "radix_bits" else q[field] + 1])
        return "scan_plain", plain(query, np.zeros((384, q["queries"] * q["levels"]))), True
    if kind == 4:  # hostile query weights
        index = rng.randrange(len(WEIGHTS_BAD))
        weights = WEIGHTS_BAD[index](rng, q["queries"] * q["levels"])
        return "scan_plain", plain(q, weights), index != len(WEIGHTS_BAD) - 1
    if kind == 5:  # hostile encrypted queries
        enc, seeds = rng.choice(
            [
                (np.full((1, 384, 2, 8), -1, dtype=np.int64), None),
                (np.zeros((65, 1, 2, 4096), dtype=np.int64), None),
                (np.zeros((1, 384, 2, 8)), None),
                (np.zeros((1, 384, 3, 4096), dtype=np.int64), None),
                (np.zeros((1, 384, 4096), dtype=np.int64), None),  # c0 halves without seeds
                (np.zeros((1, 384, 2, 4096), dtype=np.int64), [b(bytes(32))]),  # seeds with both halves
                (np.zeros((1, 384, 4096), dtype=np.int64), rng.choice(SEEDS_BAD)),
                (np.zeros((1, 384, 4096), dtype=np.uint64), [b(bytes(32))]),
            ]
        )
        checked = True
        if rng.random() < 0.1:  # the right shape (12 MB), values out of range: the host knows its prime
            enc, seeds, checked = np.full((1, 384, 4096), 2**62, dtype=np.int64), [b(bytes(32))], False
        return "scan_encrypted", call({"enc": {"$a": "a0"}, "seeds": seeds}, {"a0": enc}), checked
    if kind == 6:  # a valid scan cut short, or with bytes added
        cut = rng.randint(0, len(valid_scan) - 1)
        body = valid_scan[:cut] if rng.random() < 0.7 else valid_scan + rng.randbytes(rng.randint(1, 9))
        return "scan_plain", body, False
    if kind == 7:  # non-object headers and hostile JSON
        text = rng.choice(['"string"', "[1,2]", "null", "3", '{"a": NaN}', '{"a": 1e999}', "[" * 3000])
        head = text.encode()
        return rng.choice(["info", "state", "manifest_all"]), struct.pack("<I", len(head)) + head, False
    if kind == 8:  # hostile encodings of the arguments themselves
        return rng.choice(
            [
                ("info", message({"args": {}, "extra": 1}), True),
                ("info", call([1]), True),
                ("info", call("x"), True),
                ("state", call({"x": 1}), True),
                ("block_rows", call({"block": 0, "bogus": 1}), True),
                ("info", call({}, {"a0": np.zeros(3)}), True),  # an array no argument uses
                ("scan_plain", call({"query": {"$PlainQuery": {"queries": 1}}}), True),
                ("scan_plain", call({"query": {"$PlainQuery": 5}}), True),
                ("scan_plain", call({"query": {"$ScanResult": {}}}), True),
                (
                    "scan_plain",
                    call({"query": {"weights": {"$a": "a0"}, **q}}, {"a0": np.zeros((1, 1))}),
                    True,
                ),
                ("scan_encrypted", call({"enc": {"$a": ["a0"]}}), True),
                (
                    "delete",
                    call({"tags": {"$Row": {"tag": T, "doc": T, "pos": 0, "payload": T}}, "state": ST}),
                    True,
                ),
            ]
        )
    spec = rng.choice(
        [["a", "|O", [1]], ["a", "<f8", [-1]], ["a", "<f8", [2**32, 2**32]], ["a", "<c16", [1]]]
    )
    head = json.dumps({"arrays": [spec]}).encode()
    return "info", struct.pack("<I", len(head)) + head + b"\0" * 16, False


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
    srv = server.serve(tmp_path / "srv.db", "127.0.0.1", 0, TOKEN, max_body=64 * 1024 * 1024)
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

    query = scan.plain_query(x[:1], ring.ckks_params["query_bits"])
    arrays: dict[str, np.ndarray] = {}
    valid_scan = message({"args": encode({"query": query}, arrays)}, arrays)
    q = {"queries": query.queries, "levels": query.levels, "radix_bits": query.radix_bits}
    statuses: dict[int, int] = {}
    failures: list[tuple[str, int, str]] = []
    deadline = time.monotonic() + BUDGET_S
    sent = checked = 0
    try:
        with httpx.Client(timeout=30, trust_env=False) as client:
            ok = client.post(f"{url}/v1/scan_plain", content=valid_scan, headers=AUTH)
            assert ok.status_code == 200, ok.text  # control: the unmutated scan passes every check
            for method, args in VALID.items():  # control: unmutated arguments pass the checks too
                resp = client.post(
                    f"{url}/v1/{method}", content=call(args, DATA if "data" in args else None), headers=AUTH
                )
                title = "" if resp.status_code == 200 else resp.json()["title"]
                assert "request" not in title, (method, title)  # only the host refuses (stale state)
            while sent < COUNT and time.monotonic() < deadline:
                if rng.random() < 0.1:
                    request = rng.choice(RAW)
                    status, what = raw_status(srv.server_address[1], request), request[:40].decode("latin-1")
                else:
                    method, body, must_check = hostile(rng, valid_scan, q)
                    resp = client.post(f"{url}/v1/{method}", content=body, headers=AUTH)
                    status, what = resp.status_code, f"{method}: {body[:80]!r}"
                    if must_check and status == 400:  # refused before the host saw it
                        title = resp.json()["title"]
                        checked += 1
                        if "request" not in title and not title.startswith("Malformed store message"):
                            failures.append((what, status, title))
                statuses[status] = statuses.get(status, 0) + 1
                if not 400 <= status < 500:
                    failures.append((what, status, ""))
                sent += 1
                if sent % 400 == 0:
                    assert expected() == before, f"results changed after {sent} hostile requests"
        assert sent >= 2000, f"only {sent} hostile requests in {BUDGET_S} s"
        assert not failures, "\n".join(map(str, failures[:10]))
        assert checked > 1000
        assert statuses.get(400, 0) > 1000 and {401, 404, 405, 411, 413} <= set(statuses), statuses
        assert expected() == before and st.count() == count
        assert st.get(["r5"])[0].text == "note 5" and st.last_warnings == []
        st.close()
    finally:
        srv.shutdown()
        srv.server_close()
