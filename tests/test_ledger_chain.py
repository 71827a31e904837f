"""The chained ledger: cut, swapped, removed or rolled-back entries are reported; store requests are
recorded by size and digest only."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from assistant import wiring
from assistant.config import Settings, load_settings
from assistant.errors import StoreError
from assistant.pipeline.ledger import FILENAME, HEADNAME, Ledger, _legacy_aad
from assistant.wiring import open_store
from encrypted_store import keys, server, wire
from encrypted_store.api import RecordIn
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
FAST_KDF = {"time_cost": 1, "memory_kib": 8192, "parallelism": 1}


def ring() -> keys.Keyring:
    return keys.Keyring(master_key=os.urandom(32), ckks_secret=b"", ckks_params={})


def frames(path: Path) -> list[bytes]:
    data, out, pos = path.read_bytes(), [], 0
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        out.append(data[pos : pos + 4 + n])
        pos += 4 + n
    return out


def filled(home: Path, k: keys.Keyring, n: int = 5) -> Ledger:
    ledger = Ledger(home, k)
    for i in range(n):
        ledger.append(f"http://planner/{i}", f"body {i}", "sent", note="HTTP 200")
    return ledger


def test_intact_ledger_reads_back(tmp_path: Path) -> None:
    k = ring()
    filled(tmp_path, k)
    assert [e.body for e in Ledger(tmp_path, k).entries()] == [f"body {i}" for i in range(5)]
    assert (tmp_path / HEADNAME).exists()


@pytest.mark.parametrize("cut", [1, 3])
def test_cutting_the_last_frames_is_reported(tmp_path: Path, cut: int) -> None:
    k = ring()
    filled(tmp_path, k)
    path = tmp_path / FILENAME
    path.write_bytes(b"".join(frames(path)[:-cut]))  # whole frames: every remaining one still opens
    with pytest.raises(StoreError, match=f"the last {cut} were removed") as exc:
        Ledger(tmp_path, k).entries()
    assert HEADNAME in exc.value.next_step
    with pytest.raises(StoreError, match="truncated"):  # appending must not paper over the cut
        Ledger(tmp_path, k).append("u", "b", "sent")


def test_swapping_two_frames_is_reported(tmp_path: Path) -> None:
    k = ring()
    filled(tmp_path, k)
    path = tmp_path / FILENAME
    f = frames(path)
    f[1], f[2] = f[2], f[1]
    path.write_bytes(b"".join(f))
    with pytest.raises(StoreError, match="entry 2 of 5 fails its check"):
        Ledger(tmp_path, k).entries()


def test_removing_a_middle_frame_or_the_head_is_reported(tmp_path: Path) -> None:
    k = ring()
    filled(tmp_path, k)
    path = tmp_path / FILENAME
    whole = path.read_bytes()
    f = frames(path)
    path.write_bytes(b"".join(f[:2] + f[3:]))
    with pytest.raises(StoreError, match="entry 3 of 4"):
        Ledger(tmp_path, k).entries()
    path.write_bytes(whole)
    (tmp_path / HEADNAME).unlink()
    with pytest.raises(StoreError, match="head .* is missing"):
        Ledger(tmp_path, k).entries()


def test_a_head_from_another_ledger_is_caught(tmp_path: Path) -> None:
    k = ring()
    filled(tmp_path / "a", k, 3)
    filled(tmp_path / "b", k, 3)
    (tmp_path / "b" / HEADNAME).write_bytes((tmp_path / "a" / HEADNAME).read_bytes())
    with pytest.raises(StoreError, match="do not match its sealed head"):
        Ledger(tmp_path / "b", k).entries()
    # an older head of the same ledger hides nothing: every entry after it still reads (and chains)
    ledger = filled(tmp_path / "c", k, 2)
    old_head = (tmp_path / "c" / HEADNAME).read_bytes()
    ledger.append("u", "three", "sent")
    (tmp_path / "c" / HEADNAME).write_bytes(old_head)
    assert [e.body for e in Ledger(tmp_path / "c", k).entries()][-1] == "three"


def test_a_crash_between_frame_and_head_loses_nothing(tmp_path: Path) -> None:
    k = ring()
    ledger = filled(tmp_path, k, 3)
    head = (tmp_path / HEADNAME).read_bytes()
    ledger.append("u", "written before the crash", "sent")
    (tmp_path / HEADNAME).write_bytes(head)  # as if killed before the head was rewritten
    again = Ledger(tmp_path, k)
    assert again.entries()[-1].body == "written before the crash"
    again.append("u", "after restart", "sent")
    assert [e.body for e in Ledger(tmp_path, k).entries()][-2:] == [
        "written before the crash",
        "after restart",
    ]


def test_a_ledger_from_before_the_chain_still_reads_and_continues(tmp_path: Path) -> None:
    k = ring()
    old = []
    for i in range(2):
        entry = {"time": "2026-01-01T00:00:00+00:00", "url": "u", "body": f"old {i}", "status": "sent"}
        blob = k.seal(json.dumps(entry).encode(), _legacy_aad(i))
        old.append(struct.pack(">I", len(blob)) + blob)
    (tmp_path / FILENAME).write_bytes(b"".join(old))
    ledger = Ledger(tmp_path, k)
    assert [e.body for e in ledger.entries()] == ["old 0", "old 1"]
    ledger.append("u", "new", "sent")
    assert [e.body for e in Ledger(tmp_path, k).entries()] == ["old 0", "old 1", "new"]
    path = tmp_path / FILENAME
    path.write_bytes(b"".join(frames(path)[:-1]))
    with pytest.raises(StoreError, match="truncated"):
        Ledger(tmp_path, k).entries()


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("ledger", *args, env={"ASSISTANT_HOME": str(home), "ASSISTANT_PASSPHRASE": "chain pass"})


def test_ledger_command_reports_a_cut_ledger(tmp_path: Path) -> None:
    home = tmp_path / "home"
    k = wiring.create_keys(Settings(home=home), "chain pass", kdf=FAST_KDF)
    filled(home, k, 4)
    ok = _cli(home)
    assert ok.returncode == 0 and ok.stdout.count("http://planner/") == 4
    path = home / FILENAME
    path.write_bytes(b"".join(frames(path)[:-2]))
    cut = _cli(home)
    assert cut.returncode != 0 and "Traceback" not in cut.stderr
    assert "the last 2 were removed" in cut.stderr and HEADNAME in cut.stderr


def test_store_requests_are_recorded_by_size_and_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "ledger-store-token"
    srv = server.serve(tmp_path / "srv.db", "127.0.0.1", 0, token)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    bodies: list[bytes] = []
    real_unpack = wire.unpack

    def spy(data: bytes):  # type: ignore[no-untyped-def]
        if threading.current_thread() is not threading.main_thread():  # the server's side only
            bodies.append(bytes(data))
        return real_unpack(data)

    monkeypatch.setattr(server.wire, "unpack", spy)
    home = load_settings().home
    k = wiring.create_keys(load_settings(), "pw", kdf=FAST_KDF)
    ledger = Ledger(home, k)
    try:
        settings = load_settings(store_url=f"http://127.0.0.1:{srv.server_address[1]}", store_token=token)
        st = open_store(settings, k, recorder=ledger.record_store)
        x = np.random.default_rng(0).standard_normal((30, 384)).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        st.add([RecordIn(f"r{i}", f"secret note {i}", v, "doc") for i, v in enumerate(x)])
        st.flush()
        st.search(x[:1], k=2)
        st.close()
    finally:
        srv.shutdown()
        srv.server_close()
    store = [e for e in Ledger(home, k).entries() if e.kind == "store"]
    assert len(store) == len(bodies) > 3
    assert [e.sha256 for e in store] == [hashlib.sha256(b).hexdigest() for b in bodies]
    assert [e.size for e in store] == [len(b) for b in bodies]
    assert {e.url.rsplit("/", 1)[1] for e in store} >= {
        "info",
        "append",
        "write_block",
        "scan_encrypted",  # the default for a remote host
        "fetch",
    }
    assert all(e.body == "" and e.status == "sent" and e.note.startswith("HTTP 200") for e in store)
    traffic = sum(len(b) for b in bodies)
    kept = (home / FILENAME).stat().st_size
    assert traffic > 20_000_000 and kept < 50_000  # ciphertexts went out; the ledger kept only their digests
