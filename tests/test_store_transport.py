"""Store transport on 127.0.0.1: https with a self-signed CA, proxies ignored, connection cap and
timeouts, every header field checked (400 with a reason), query and reply caps."""

from __future__ import annotations

import base64
import contextlib
import datetime
import ipaddress
import json
import socket
import socketserver
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from assistant.config import load_settings
from assistant.errors import translate
from assistant.wiring import create_keys, open_store
from encrypted_store import scan, server, transport, wire
from encrypted_store.client import HttpBackend, StoreRequest
from encrypted_store.errors import StoreError
from encrypted_store.keys import Keyring
from encrypted_store.limits import Limits

FAST_KDF = {"time_cost": 1, "memory_kib": 8192, "parallelism": 1}
TOKEN = "transport-token-7"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM), made with `cryptography`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "store test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def start(tmp_path: Path, **kwargs: object) -> server.StoreServer:
    srv = server.serve(tmp_path / "server" / "store.db", "127.0.0.1", 0, TOKEN, **kwargs)  # type: ignore[arg-type]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def stop(srv: server.StoreServer) -> None:
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[str, server.StoreServer]]:
    srv = start(tmp_path)
    yield f"http://127.0.0.1:{srv.server_address[1]}", srv
    stop(srv)


@pytest.fixture
def ring() -> Keyring:
    return create_keys(load_settings(), "pw", kdf=FAST_KDF)


def unit_rows(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, 384)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# ---- TLS --------------------------------------------------------------------------------------
def test_https_store_with_a_trusted_ca_file(tmp_path: Path, ring: Keyring) -> None:
    from encrypted_store.api import RecordIn

    cert, key = self_signed(tmp_path)
    srv = start(tmp_path, tls=transport.tls_context(cert, key))
    url = f"https://127.0.0.1:{srv.server_address[1]}"
    try:
        settings = load_settings(store_url=url, store_token=TOKEN, store_ca_file=cert)
        st = open_store(settings, ring)
        x = unit_rows(20, 3)
        st.add([RecordIn(f"r{i}", f"text {i}", v, "doc") for i, v in enumerate(x)])
        st.flush()
        assert st.search(x[4], k=1)[0][0].record.id == "r4"
        st.close()
        # control: the same server is not trusted without the CA file, and plain http does not talk to it
        with pytest.raises(StoreError, match="certificate") as untrusted:
            HttpBackend(url, TOKEN).info()
        assert "ASSISTANT_STORE_CA_FILE" in translate(untrusted.value).next_step
        with pytest.raises(StoreError):
            HttpBackend(url.replace("https", "http"), TOKEN, timeout=5).info()
    finally:
        stop(srv)


def test_bad_store_url_and_ca_file_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not an http"):
        HttpBackend("ftp://127.0.0.1:1", TOKEN)
    (tmp_path / "bad.pem").write_text("not a certificate")
    with pytest.raises(StoreError, match="CA file") as exc:
        HttpBackend("https://127.0.0.1:1", TOKEN, ca_file=tmp_path / "bad.pem")
    assert "ASSISTANT_STORE_CA_FILE" in translate(exc.value).next_step


def test_cli_serves_https(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    cert, key = self_signed(tmp_path)
    env = {**os.environ, "ASSISTANT_STORE_TOKEN": TOKEN, "ASSISTANT_HOME": str(tmp_path / "srv")}
    cmd = [sys.executable, "-m", "assistant", "store", "serve", "--port", "0"]
    cmd += ["--tls-cert", str(cert), "--tls-key", str(key)]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parents[1])
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "listening on https://127.0.0.1:" in line, line
        backend = HttpBackend(line.strip().split()[-1], TOKEN, ca_file=cert)
        assert backend.info()["count"] == 0
        backend.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    half = subprocess.run([*cmd[:7], "--tls-cert", str(cert)], env=env, capture_output=True, text=True)
    assert half.returncode != 0 and "go together" in half.stderr and "Traceback" not in half.stderr


# ---- proxies ----------------------------------------------------------------------------------
class _Recorder(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.seen: list[bytes] = []
        super().__init__(("127.0.0.1", 0), _RecordHandler)


class _RecordHandler(socketserver.BaseRequestHandler):
    server: _Recorder

    def handle(self) -> None:
        self.request.settimeout(5)
        try:
            self.server.seen.append(self.request.recv(4096))
        finally:
            self.request.sendall(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )


def test_proxy_variables_are_ignored(
    running: tuple[str, server.StoreServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _srv = running
    proxy = _Recorder()
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        for var in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"):
            monkeypatch.setenv(var, f"http://127.0.0.1:{proxy.server_address[1]}")
        for var in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(var, raising=False)
        backend = HttpBackend(url, TOKEN, timeout=10)
        assert backend.info()["count"] == 0
        backend.close()
        assert proxy.seen == []
        # control: a client that honours the proxy variables does reach the recording proxy
        with httpx.Client(trust_env=True, timeout=10) as honouring:
            honouring.post(f"{url}/v1/info", content=wire.pack({}), headers=AUTH)
        assert proxy.seen and b"/v1/info" in proxy.seen[0]
    finally:
        proxy.shutdown()
        proxy.server_close()


# ---- connections ------------------------------------------------------------------------------
def test_idle_connections_without_a_token_cannot_hold_the_server(tmp_path: Path) -> None:
    srv = start(tmp_path, max_connections=8, conn_timeout=120.0)
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    idle: list[socket.socket] = []
    try:
        for i in range(45):
            sock = socket.create_connection(("127.0.0.1", srv.server_address[1]), timeout=10)
            if i % 2:
                sock.sendall(b"POST /v1/info HTTP/1.1\r\nHost: x\r\n")  # half a header, then silence
            idle.append(sock)
        backend = HttpBackend(url, TOKEN, timeout=10)  # would time out if the idle ones held the server
        assert backend.info()["count"] == 0
        assert backend.info()["count"] == 0  # keep-alive reuse works too
        backend.close()
        assert srv.connections.count() <= 8
        closed = 0
        for sock in idle:
            sock.settimeout(0.3)  # an evicted socket reads EOF at once; a kept one would wait
            with contextlib.suppress(TimeoutError):
                closed += sock.recv(1) == b""
        assert closed >= 45 - 8  # the server accepted them, then evicted the oldest idle ones
    finally:
        for sock in idle:
            sock.close()
        stop(srv)


def test_silent_connection_times_out(tmp_path: Path) -> None:
    srv = start(tmp_path, conn_timeout=0.5)
    try:
        sock = socket.create_connection(("127.0.0.1", srv.server_address[1]), timeout=10)
        assert sock.recv(1) == b""  # closed by the server, not left hanging (the recv would time out)
        sock.close()
        slow = socket.create_connection(("127.0.0.1", srv.server_address[1]), timeout=10)
        slow.sendall(
            b"POST /v1/info HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
            + f"Authorization: Bearer {TOKEN}\r\n\r\n".encode()
            + b"\x05"
        )
        reply = slow.recv(4096)
        assert reply.startswith(b"HTTP/1.1 408"), reply
        slow.close()
    finally:
        stop(srv)


# ---- header validation ------------------------------------------------------------------------
def raw(header: object, arrays: dict[str, np.ndarray] | None = None) -> bytes:
    """A message whose header may be anything JSON can hold (wire.pack needs a dict)."""
    arrays = arrays or {}
    specs = [[n, a.dtype.str, list(a.shape)] for n, a in arrays.items()]
    if isinstance(header, dict):
        header = {**header, "arrays": specs}
    head = json.dumps(header).encode()
    return (
        struct.pack("<I", len(head))
        + head
        + b"".join(np.ascontiguousarray(a).tobytes() for a in arrays.values())
    )


def framed(head: bytes, tail: bytes = b"") -> bytes:
    """A message from a header written by hand (JSON that json.dumps would not write)."""
    return struct.pack("<I", len(head)) + head + tail


def call(args: object, arrays: dict[str, np.ndarray] | None = None) -> bytes:
    """A request in the protocol's encoding: keyword arguments under "args" (see `host.encode`)."""
    return raw({"args": args}, arrays)


def b(data: bytes) -> dict[str, str]:
    return {"$b": base64.b64encode(data).decode()}


def _plain(queries: object, levels: object, radix: object, weights: np.ndarray) -> bytes:
    query = {"weights": {"$a": "w"}, "queries": queries, "levels": levels, "radix_bits": radix}
    return call({"query": {"$PlainQuery": query}}, {"w": weights})


def _enc(enc: np.ndarray, seeds: object = None) -> bytes:
    return call({"enc": {"$a": "e"}, "seeds": seeds}, {"e": enc})


T, ST = b(bytes(16)), [1, b(b"sealed")]  # a tag; a well-formed (stale) client state
ok_weights = np.zeros((384, 7))
BAD = {
    "json string as header": ("info", raw("just a string")),
    "json list as header": ("info", raw([1, 2])),
    "args as a string": ("info", call("x")),
    "a field besides args": ("info", raw({"args": {}, "x": 1})),
    "unknown argument": ("block_rows", call({"block": 0, "bogus": 1})),
    "block 2**70": ("block_rows", call({"block": 2**70})),
    "block 2**40": ("block_rows", call({"block": 2**40})),
    "block -1": ("block_rows", call({"block": -1})),
    "block as string": ("block_rows", call({"block": "7"})),
    "block as float": ("block_rows", call({"block": 1.5})),
    "block as bool": ("block_rows", call({"block": True})),
    "block missing": ("block_rows", call({})),
    "NaN weights": ("scan_plain", _plain(1, 7, 3, np.full((384, 7), np.nan))),
    "NaN in header": ("scan_plain", framed(b'{"args": {"x": NaN}}')),
    "huge float in header": ("info", framed(b'{"args": {}, "x": 1e999}')),
    "negative radix": ("scan_plain", _plain(1, 7, -3, ok_weights)),
    "radix 0": ("scan_plain", _plain(1, 7, 0, ok_weights)),
    "radix 9": ("scan_plain", _plain(1, 7, 9, ok_weights)),
    "fractional digits": ("scan_plain", _plain(1, 7, 3, np.full((384, 7), 0.5))),
    "digits beyond the radix": ("scan_plain", _plain(1, 7, 3, np.full((384, 7), 100.0))),
    "weights as int64": ("scan_plain", _plain(1, 7, 3, np.zeros((384, 7), dtype=np.int64))),
    "weights 3-d": ("scan_plain", _plain(1, 7, 3, np.zeros((384, 7, 1)))),
    "weights wrong width": ("scan_plain", _plain(1, 7, 3, np.zeros((384, 6)))),
    "weights wrong dim": ("scan_plain", _plain(1, 7, 3, np.zeros((100, 7)))),
    "weights beyond max_dim": ("scan_plain", _plain(1, 7, 3, np.zeros((4097, 7)))),
    "weights missing": ("scan_plain", call({"query": {"$PlainQuery": {"queries": 1, "levels": 7}}})),
    "query not a PlainQuery": ("scan_plain", call({"query": {"queries": 1}})),
    "3000 query columns": ("scan_plain", _plain(3000, 1, 3, np.zeros((384, 3000)))),
    "3000 queries x 7 levels": ("scan_plain", _plain(3000, 7, 3, np.zeros((384, 1)))),
    "540 query columns": ("scan_plain", _plain(60, 9, 3, np.zeros((384, 540)))),
    "encrypted query as float": ("scan_encrypted", _enc(np.zeros((1, 384, 2, 4096)))),
    "encrypted query negative": ("scan_encrypted", _enc(np.full((1, 384, 2, 4096), -1, dtype=np.int64))),
    "encrypted query 100 queries": ("scan_encrypted", _enc(np.zeros((100, 1, 2, 4096), dtype=np.int64))),
    "encrypted query wrong ring size": ("scan_encrypted", _enc(np.zeros((1, 384, 2, 8), dtype=np.int64))),
    "c0 halves without seeds": ("scan_encrypted", _enc(np.zeros((1, 384, 4096), dtype=np.int64))),
    "seeds of 31 bytes": ("scan_encrypted", _enc(np.zeros((1, 384, 4096), dtype=np.int64), [b(bytes(31))])),
    "two seeds for one query": (
        "scan_encrypted",
        _enc(np.zeros((1, 384, 4096), dtype=np.int64), [b(bytes(32))] * 2),
    ),
    "seeds with both halves": (
        "scan_encrypted",
        _enc(np.zeros((1, 384, 2, 4096), dtype=np.int64), [b(bytes(32))]),
    ),
    "array no argument uses": ("info", call({}, {"x": np.zeros(3)})),
    "array that is not there": ("scan_encrypted", call({"enc": {"$a": "missing"}})),
    "tags not a list": ("delete", call({"tags": T, "state": ST})),
    "tag as a plain string": ("delete", call({"tags": ["AAAA"], "state": ST})),
    "tag not base64": ("delete", call({"tags": [{"$b": "not base64!"}], "state": ST})),
    "tag of 65 bytes": ("delete", call({"tags": [b(bytes(65))], "state": ST})),
    "tags over max_items": ("delete", call({"tags": [T] * 100_001, "state": ST})),
    "state missing": ("delete", call({"tags": [T]})),
    "state counter as string": ("delete", call({"tags": [T], "state": ["1", T]})),
    "state blob not bytes": ("delete", call({"tags": [T], "state": [1, "AAAA"]})),
    "rows of two": ("append", call({"rows": [[T, T]], "state": ST})),
    "positions as strings": ("fetch", call({"positions": ["1"]})),
    "position 2**70": ("fetch", call({"positions": [2**70]})),
    "position 2**40": ("fetch", call({"positions": [2**40]})),
    "placed outside block": (
        "write_block",
        call(
            {"block": 0, "data": {"$a": "d"}, "placed": [[T, T, 99999, T]], "state": ST},
            {"d": np.zeros(4096 * 2 * 384)},
        ),
    ),
    "block data wrong size": (
        "write_block",
        call({"block": 0, "data": {"$a": "d"}, "placed": [], "state": ST}, {"d": np.zeros(5)}),
    ),
    "block data as bytes": ("write_block", call({"block": 0, "data": T, "placed": [], "state": ST})),
    "meta not an object": ("setup", call({"meta": [1]})),
    "meta holding bytes": ("setup", call({"meta": {"x": T}})),
    "meta dim as string": ("setup", call({"meta": {"dim": "384"}})),
    "array shape negative": ("info", framed(b'{"arrays": [["a", "<f8", [-1]]]}', bytes(8))),
    "array shape overflow": (
        "info",
        framed(b'{"arrays": [["a", "<f8", [4294967296, 4294967296]]]}', bytes(8)),
    ),
    "object dtype": ("info", framed(b'{"arrays": [["a", "|O", [1]]]}', bytes(8))),
    "header length past the end": ("info", b"\xff\xff\x00\x00{}"),
    "deep nesting": ("info", framed(b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}")),
    "deep argument nesting": ("fetch", call({"tags": [[[[[[T]]]]]]})),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_header_is_a_400_with_a_reason(
    running: tuple[str, server.StoreServer], ring: Keyring, case: str
) -> None:
    url, _srv = running
    host = HttpBackend(url, TOKEN)  # a store with parameters: the host's own checks give their reason
    host.setup({"dim": 384, "ckks": {"prime": ring.ckks_params["prime"]}})
    host.close()
    method, body = BAD[case]
    resp = httpx.post(f"{url}/v1/{method}", content=body, headers=AUTH, timeout=30)
    assert resp.status_code == 400, (case, resp.status_code, resp.text[:200])
    assert resp.json()["title"]
    assert httpx.post(f"{url}/v1/info", content=wire.pack({}), headers=AUTH).status_code == 200


def test_a_valid_scan_passes_the_checks(tmp_path: Path, ring: Keyring) -> None:
    """Control for the table above: a well-formed scan_plain is answered 200 with ciphertexts."""
    from encrypted_store.api import RecordIn

    srv = start(tmp_path, limits=Limits(max_reply=2 * 1024 * 1024))
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    seen: list[StoreRequest] = []
    try:
        st = open_store(load_settings(store_url=url, store_token=TOKEN), ring, recorder=seen.append)
        x = unit_rows(10, 1)
        st.add([RecordIn(f"r{i}", "t", v, "d") for i, v in enumerate(x)])
        st.flush()
        query = scan.plain_query(x[:2], ring.ckks_params["query_bits"])
        res = st.host.scan_plain(query)
        assert res.cts.shape == (1, 2, 2, 4096)
        # 40 queries: within the query cap, but the reply (40 x 64 KiB) is above this server's 2 MiB
        with pytest.raises(StoreError, match="reply would be too large"):
            st.host.scan_plain(scan.plain_query(unit_rows(40, 2), ring.ckks_params["query_bits"]))
        assert st.search(x[3], k=1)[0][0].record.id == "r3"
        # the raw requests the table above mutates pass the checks when left well-formed
        for method, body in (
            ("scan_plain", _plain(1, 7, 3, ok_weights)),
            ("scan_encrypted", _enc(np.zeros((1, 384, 4096), dtype=np.int64), [b(bytes(32))])),
            ("fetch", call({"positions": [1], "tags": [T]})),
        ):
            assert httpx.post(f"{url}/v1/{method}", content=body, headers=AUTH).status_code == 200, method
        st.close()
    finally:
        stop(srv)
    assert {r.method for r in seen} >= {"info", "append", "scan_plain", "fetch"}
    assert all(len(r.sha256) == 64 and r.size > 0 for r in seen)


def test_other_http_methods_and_lengths(running: tuple[str, server.StoreServer]) -> None:
    url, _srv = running
    assert httpx.get(f"{url}/v1/info", headers=AUTH).status_code == 405
    assert httpx.get(f"{url}/v1/info").status_code == 405
    port = int(url.rsplit(":", 1)[1])
    for head in (b"Content-Length: -5", b"Content-Length: 1e3", b"Transfer-Encoding: chunked"):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"POST /v1/info HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                + TOKEN.encode()
                + b"\r\n"
                + head
                + b"\r\n\r\n"
            )
            assert sock.recv(4096).startswith(b"HTTP/1.1 411"), head
