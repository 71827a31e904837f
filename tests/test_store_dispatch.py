"""The server dispatches exactly the StoreHost protocol's methods; hostile arguments get a 400."""

from __future__ import annotations

import inspect
import threading
from pathlib import Path

import httpx

from encrypted_store import server, wire
from encrypted_store.host import HOST_METHODS, StoreHost
from encrypted_store.limits import SCHEMAS

B = {"$b": "AA=="}
HOSTILE = [
    ("fetch", {"args": {"tags": ["not bytes"]}}),
    ("fetch", {"args": {"positions": ["x", True]}}),
    ("fetch", {"args": {"bogus": 1}}),
    ("fetch", {"args": {"tags": [[[[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]]]]}}),
    ("block_rows", {"args": {"block": 2**70}}),
    ("block_rows", {"args": {"block": -1}}),
    ("info", {"args": [1]}),
    ("append", {"args": {"rows": [[B]], "state": [1, B]}}),
    ("append", {"args": {"rows": [], "state": "x"}}),
    ("scan_plain", {"args": {"query": {"$PlainQuery": {"x": 1}}}}),
    ("scan_encrypted", {"args": {"enc": {"$a": "missing"}}}),
    ("write_block", {"args": {"block": 0, "data": B, "placed": [], "state": [1, B]}}),
    ("drop_block", {"args": {"block": -1, "released": None, "state": None}}),
    ("setup", {"args": {"meta": 5}}),
    ("state", {"args": {"x": 1}}),
    ("close", {}),
]


def test_every_protocol_method_has_a_checked_argument_table() -> None:
    """Nothing reaches the host unchecked: one schema per method, naming exactly its arguments."""
    assert set(SCHEMAS) == set(HOST_METHODS)
    for name in HOST_METHODS:
        params = [p for p in inspect.signature(getattr(StoreHost, name)).parameters if p != "self"]
        assert set(SCHEMAS[name]) == set(params), name


def test_dispatch_is_the_protocol_and_bad_arguments_are_400(tmp_path: Path) -> None:
    srv = server.StoreServer(tmp_path / "s.db", "127.0.0.1", 0, "t")
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        assert set(srv.methods) == set(HOST_METHODS) and "close" not in HOST_METHODS
        assert all(callable(getattr(StoreHost, name)) for name in HOST_METHODS)
        url, headers = f"http://127.0.0.1:{srv.server_address[1]}/v1/", {"Authorization": "Bearer t"}
        with httpx.Client(trust_env=False, timeout=30) as http:
            for name, header in HOSTILE:
                reply = http.post(url + name, content=wire.pack(header), headers=headers)
                assert reply.status_code in (400, 404), (name, reply.status_code)
                assert reply.json()["title"], name
            ok = http.post(url + "info", content=wire.pack({}), headers=headers)
            assert ok.status_code == 200 and wire.unpack(ok.content)[0]["result"]["count"] == 0
    finally:
        srv.shutdown()
        srv.server_close()
