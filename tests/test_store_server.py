"""`assistant store serve` on 127.0.0.1: same results as embedded, auth, limits, nothing private sent."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.config import load_settings
from assistant.errors import translate
from assistant.wiring import create_keys, open_store
from encrypted_store import server, wire
from encrypted_store.api import RecordIn
from encrypted_store.ckks import CkksKit
from encrypted_store.client import HttpBackend
from encrypted_store.errors import AuthError, StoreError
from encrypted_store.host import PlainQuery, decode, encode
from encrypted_store.keys import Keyring
from tests.helpers import FAST_KDF

TOKEN = "test-token-123"


def unit_rows(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, 384)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make_records(x: np.ndarray) -> list[RecordIn]:
    return [
        RecordIn(
            f"r{i}",
            f"Dr Okafor raised levothyroxine to {i} mcg",
            v,
            f"/home/alice/letter-{i}.txt",
            {"path": f"/home/alice/medical/letter-{i}.txt", "source": "mail"},
        )
        for i, v in enumerate(x)
    ]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[str, server.StoreServer]]:
    srv = server.serve(tmp_path / "server" / "store.db", "127.0.0.1", 0, TOKEN)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def ring() -> Keyring:
    return create_keys(load_settings(), "pw", kdf=FAST_KDF)


@pytest.mark.slow
def test_search_through_the_server_and_nothing_private_reaches_it(
    running: tuple[str, server.StoreServer], ring: Keyring, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url, _srv = running
    seen: list[bytes] = []
    real_unpack, real_pack = wire.unpack, wire.pack

    def spy_unpack(data: bytes):  # type: ignore[no-untyped-def]
        seen.append(bytes(data))
        return real_unpack(data)

    def spy_pack(header, arrays=None):  # type: ignore[no-untyped-def]
        out = real_pack(header, arrays)
        seen.append(out)
        return out

    monkeypatch.setattr(server.wire, "unpack", spy_unpack)
    monkeypatch.setattr(server.wire, "pack", spy_pack)
    settings = load_settings(store_url=url, store_token=TOKEN)
    st = open_store(settings, ring)
    x = unit_rows(300, 0)
    recs = make_records(x)
    st.add(recs)
    st.flush()
    st.manifest_put("/home/alice/medical/letter-3.txt", {"sha": "feedface"})
    st.plaintext_remote_queries = True  # as only tests may: the control below needs a visible query
    hits = st.search(x[:2], k=5, encrypted_query=False)
    assert [row[0].record.id for row in hits] == ["r0", "r1"]
    exact = np.argsort(-(x[:2].astype(np.float64) @ x.T.astype(np.float64)), axis=1)[:, :5]
    assert [[h.record.id for h in row] for row in hits] == [[f"r{i}" for i in row] for row in exact]
    assert st.search(x[2], k=1)[0][0].record.id == "r2"  # the default for a remote host: encrypted
    assert st.get(["r9"])[0].text == recs[9].text and st.stats()["remote"] is True
    st.close()
    assert seen, "the spy saw no traffic"
    stored = b"".join(p.read_bytes() for p in (tmp_path / "server").iterdir() if p.is_file())
    kit = CkksKit(ring.ckks_params, ring.ckks_secret)
    secrets = [ring.master_key, ring.ckks_secret[40:104], kit.s_ntt.astype("<u8").tobytes()[8:72]]
    secrets += [ring.subkey(p) for p in ("seal/aes-256-gcm", "store/record-id", "store/canary")]
    sample = recs[::15]  # every 15th: each check scans ~100 MB of traffic
    private = [r.text.encode() for r in sample] + [r.meta["path"].encode() for r in sample]
    private += [x[int(r.id[1:])].astype("<f4").tobytes()[:64] for r in sample]
    for blob in [*seen, stored]:
        for item in secrets + private:
            assert item not in blob
    # vectors travel as the wire encodes them (quantized digit columns), never as raw floats: decode them
    sent = _vectors_on_the_wire(seen, real_unpack)
    assert len(sent) >= 2, "no query vectors decoded from the traffic"
    found = {int(i) for i in np.flatnonzero((sent @ x.T).max(axis=0) > 0.999)}
    assert {0, 1} <= found  # control: a plaintext-query search shows its query (by design)
    assert found == {0, 1}  # the encrypted query (r2) and all 300 stored records never appear


def _vectors_on_the_wire(messages: list[bytes], unpack) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Every vector a wire message carries in the plaintext-query encoding, decoded and normalized.

    A scan_plain request's `query` argument is a PlainQuery whose weights (D, Q*L) hold balanced
    base-2^r digits, least significant first (scan.plain_query): the quantized query is
    sum_l digit_l * 2^(r*l).
    """
    out = []
    for blob in messages:
        header, arrays = unpack(blob)
        args = decode(header.get("args") or {}, arrays)
        query = args.get("query") if isinstance(args, dict) else None
        if not isinstance(query, PlainQuery):
            continue
        q, levels, r = query.queries, query.levels, query.radix_bits
        digits = query.weights.reshape(query.weights.shape[0], q, levels)
        values = (digits * (2.0 ** (r * np.arange(levels)))).sum(axis=2).T  # (Q, D)
        out.append(values / np.linalg.norm(values, axis=1, keepdims=True))
    return np.concatenate(out) if out else np.zeros((0, 384))


def test_the_wire_decoder_finds_a_vector_it_carries() -> None:
    """Control for the privacy test: a packed plaintext query decodes back to its vector."""
    from encrypted_store import scan

    x = unit_rows(3, 5)
    arrays: dict[str, np.ndarray] = {}
    message = wire.pack({"args": encode({"query": scan.plain_query(x[:2], 18)}, arrays)}, arrays)
    sent = _vectors_on_the_wire([message, wire.pack({"args": {"other": 1}})], wire.unpack)
    assert (sent @ x.T).max(axis=0).round(3).tolist()[:2] == [1.0, 1.0]
    assert (sent @ x.T).max(axis=0)[2] < 0.5


def test_token_is_required(running: tuple[str, server.StoreServer], ring: Keyring) -> None:
    url, _srv = running
    with pytest.raises(AuthError, match="token"):
        HttpBackend(url, "wrong").info()
    with pytest.raises(AuthError, match="no token"):
        open_store(load_settings(store_url=url), ring)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_server_down_is_a_store_error(ring: Keyring) -> None:
    settings = load_settings(store_url=f"http://127.0.0.1:{_free_port()}", store_token=TOKEN)
    with pytest.raises(StoreError, match="unreachable") as exc:
        open_store(settings, ring)
    assert "assistant" not in exc.value.hint  # the library's hint; the app adds its command
    assert "assistant store serve" in translate(exc.value).next_step  # type: ignore[union-attr]


def test_request_size_limit(tmp_path: Path, ring: Keyring) -> None:
    srv = server.serve(tmp_path / "s.db", "127.0.0.1", 0, TOKEN, max_body=64 * 1024)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        settings = load_settings(store_url=f"http://127.0.0.1:{srv.server_address[1]}", store_token=TOKEN)
        st = open_store(settings, ring)
        with pytest.raises(StoreError, match="too large"):
            st.add(make_records(unit_rows(200, 1)))
        assert st.count() == 0
        st.backend.close()
    finally:
        srv.shutdown()
        srv.server_close()


def test_malformed_messages_are_rejected(running: tuple[str, server.StoreServer]) -> None:
    import httpx

    url, _srv = running
    headers = {"Authorization": f"Bearer {TOKEN}"}
    bad = httpx.post(f"{url}/v1/info", content=b"\x05\x00\x00\x00{]", headers=headers)
    assert bad.status_code == 400 and "Malformed" in bad.json()["title"]
    unknown = httpx.post(f"{url}/v1/nope", content=wire.pack({}), headers=headers)
    assert unknown.status_code == 404


def test_cli_store_serve_runs_and_answers(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    env = {**os.environ, "ASSISTANT_STORE_TOKEN": TOKEN, "ASSISTANT_HOME": str(tmp_path / "srv")}
    cmd = [sys.executable, "-m", "assistant", "store", "serve", "--port", "0"]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parents[1])
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "listening on http://127.0.0.1:" in line, line
        url = line.strip().split()[-1]
        backend = HttpBackend(url, TOKEN)
        assert backend.info()["count"] == 0
        with pytest.raises(AuthError):
            HttpBackend(url, "nope").info()
        backend.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert (tmp_path / "srv" / "store.db").exists()
