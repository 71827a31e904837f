"""A store written in format 1 (one canary at slot 0, bindings without a version, no client state)
is migrated on open: every record stays findable, under the new bindings."""

from __future__ import annotations

import hashlib
import hmac
import json
import struct

import numpy as np

from assistant.config import load_settings
from assistant.wiring import create_keys, open_store
from encrypted_store.backend import LocalHost
from encrypted_store.ckks import N
from encrypted_store.verify import FORMAT
from tests.helpers import FAST_KDF


def test_format_1_store_is_migrated_on_open() -> None:
    settings = load_settings()
    ring = create_keys(settings, "pw", kdf=FAST_KDF)
    x = np.random.default_rng(0).standard_normal((30, 384)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    host = LocalHost(settings.store_path)
    check = hmac.new(ring.subkey("store/key-check"), b"store", hashlib.sha256).hexdigest()[:32]
    params = {k: ring.ckks_params[k] for k in ("prime", "scale_bits", "poly_modulus_degree")}
    host.setup({"key_check": check, "dim": 384, "ckks": params})  # format 1 had no format or store id
    rows = []
    for i, v in enumerate(x):
        tag = hmac.new(ring.subkey("store/record-id"), f"old{i}".encode(), hashlib.sha256).digest()[:16]
        doc = hmac.new(ring.subkey("store/doc"), b"d", hashlib.sha256).digest()[:16]
        pos = 1 + i if i < 20 else None  # 20 placed in block 0 (slot 0 was the canary), 10 pending
        head = json.dumps({"id": f"old{i}", "text": f"old note {i}", "doc": "d", "meta": {}}).encode()
        body = struct.pack("<I", len(head)) + head + v.astype("<f4").tobytes()
        payload = ring.seal(body, b"record|" + tag + struct.pack("<q", -1 if pos is None else pos))
        rows.append((tag, doc, pos, payload))
    with host.db.write() as conn:
        conn.execute("INSERT INTO blocks VALUES (0, ?, 21, 1)", (bytes(N * 2 * 384 * 8),))
        conn.executemany("INSERT INTO records VALUES (?, ?, ?, ?)", rows)
    host.close()
    st = open_store(settings, ring)
    assert st.host.info()["format"] == FORMAT
    assert st.count() == 30 and st.stats()["pending"] == 0 and st.last_warnings == []
    for i in (0, 19, 20, 29):
        hit = st.search(x[i], k=1)[0][0]
        assert hit.record.id == f"old{i}" and hit.record.text == f"old note {i}"
    st.close()
    again = open_store(settings, ring)  # migrated once: a second open has nothing to do
    assert again.count() == 30 and again.search(x[5], k=1)[0][0].record.id == "old5"
    again.close()
