"""Damage and concurrency on real files: tampered ciphertexts, a reader during writes, kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant.errors import translate
from assistant.wiring import open_store
from encrypted_store.api import RecordIn
from encrypted_store.ckks import CkksKit
from encrypted_store.keys import Keyring
from encrypted_store.verify import HostIntegrityError

ROOT = Path(__file__).resolve().parents[1]


def unit_rows(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, 384)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def recs(x: np.ndarray, prefix: str) -> list[RecordIn]:
    return [
        RecordIn(f"{prefix}{i}", f"secret memo {prefix}{i} for Alice", v, prefix, {}) for i, v in enumerate(x)
    ]


@pytest.mark.slow
def test_tampered_ciphertext_stops_the_search_and_compact_repairs(settings: Settings, ring: Keyring) -> None:
    st = open_store(settings, ring)
    placed, pending = unit_rows(40, 0), unit_rows(10, 1)
    st.add(recs(placed, "a"))
    st.flush()
    st.add(recs(pending, "b"))  # stays pending (below the flush threshold)
    conn = sqlite3.connect(settings.store_path)
    data = bytearray(conn.execute("SELECT data FROM blocks WHERE id = 0").fetchone()[0])
    coeffs = np.frombuffer(data, dtype=np.float64).copy()
    coeffs[::997] += 12345.0  # a few coefficients changed: every score of the block moves
    conn.execute("UPDATE blocks SET data = ? WHERE id = 0", (coeffs.tobytes(),))
    conn.commit()
    conn.close()
    with pytest.raises(HostIntegrityError, match="block 0 failed its integrity check") as exc:
        st.search(np.vstack([placed[3], pending[4]]), k=3)
    assert "assistant store compact" in translate(exc.value).next_step  # the app's next step
    assert st.damaged_blocks() == {0}
    assert st.compact() == 1
    assert st.search(placed[3], k=1)[0][0].record.id == "a3" and st.last_warnings == []
    st.close()


@pytest.mark.slow
def test_reader_searches_while_a_writer_adds(settings: Settings, ring: Keyring) -> None:
    writer = open_store(settings, ring)
    first = unit_rows(100, 2)
    writer.add(recs(first, "w"))
    writer.flush()
    reader = open_store(settings, ring)
    errors: list[BaseException] = []
    searches = 0
    done = threading.Event()

    def read() -> None:
        nonlocal searches
        try:
            while not done.is_set():
                hit = reader.search(first[7], k=1)[0][0]
                assert hit.record.id == "w7" and reader.last_warnings == []
                searches += 1
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for batch in range(3):
            writer.add(recs(unit_rows(150, 10 + batch), f"n{batch}-"))
            writer.flush()
    finally:
        done.set()
        thread.join(timeout=120)
    assert errors == [] and searches >= 2
    assert reader.count() == 550 and reader.search(first[9], k=1)[0][0].record.id == "w9"
    writer.close()
    reader.close()


CHILD = """
import sys
import numpy as np
from assistant.config import load_settings
from assistant.wiring import open_store
from encrypted_store.api import RecordIn
from assistant.wiring import unlock
settings = load_settings()
store = open_store(settings, unlock(settings, "pw"))
rng = np.random.default_rng(0)
for batch in range(1000):
    x = rng.standard_normal((200, 384)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    store.add([RecordIn(f"k{batch}-{i}", f"memo {batch} {i}", v, f"d{batch}", {}) for i, v in enumerate(x)])
    if batch % 2:
        store.flush()
    print("batch", batch, flush=True)
"""


@pytest.mark.slow
def test_kill_9_during_adds_leaves_a_consistent_store(settings: Settings, ring: Keyring) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD], env=env, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    seen = 0
    for line in child.stdout:
        seen += line.startswith("batch")
        if seen >= 2:
            break
    time.sleep(np.random.default_rng().uniform(0.2, 2.0))  # land somewhere inside an add or a flush
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    conn = sqlite3.connect(settings.store_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    st = open_store(settings, ring)
    total = st.count()
    assert total >= 400 and total % 200 == 0  # whole add() calls only
    state = st.state()
    rows = st.host.fetch(positions=state.live_positions().tolist())
    assert len({r.pos for r in rows}) == len(rows) == total - len(state.pending)
    opened = st.get([f"k{b}-{i}" for b in range(total // 200) for i in range(200)])
    assert len(opened) == total and st.last_warnings == []
    assert st.search(unit_rows(1, 3), k=3)[0] and st.last_warnings == []
    st.close()


@pytest.mark.slow
def test_data_dir_holds_no_plaintext_or_secret_key(settings: Settings, ring: Keyring) -> None:
    st = open_store(settings, ring)
    x = unit_rows(60, 4)
    records = recs(x, "m")
    st.add(records)
    st.flush()
    st.add(recs(unit_rows(5, 5), "p"))  # pending rows too
    st.manifest_put("/home/alice/medical/labs-2024-03.pdf", {"sha": "x"})
    st.search(x[0], k=3)
    blobs = [p.read_bytes() for p in settings.home.rglob("*") if p.is_file()]
    st.close()
    blobs += [p.read_bytes() for p in settings.home.rglob("*") if p.is_file()]
    kit = CkksKit(ring.ckks_params, ring.ckks_secret)
    secret = [ring.master_key, ring.ckks_secret[40:104], kit.s_ntt.astype("<u8").tobytes()[8:72]]
    private = [r.text.encode() for r in records] + [b"/home/alice/medical/labs-2024-03.pdf"]
    private += [v.astype("<f4").tobytes()[:64] for v in x[::6]]
    assert len(blobs) >= 2
    for blob in blobs:
        for item in secret + private:
            assert item not in blob
