"""Stores written in older formats are migrated on open: format 1 (one canary at slot 0, bindings
without a version, no client state) and format 2 (rows carrying their document's HMAC, which let
the host link a document's rows): every record stays findable, and no two rows share a doc value."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import struct

import numpy as np
import pytest

from assistant.config import Settings, load_settings
from assistant.wiring import create_keys, open_store
from encrypted_store.api import RecordIn
from encrypted_store.backend import LocalHost
from encrypted_store.ckks import N
from encrypted_store.keys import Keyring
from encrypted_store.store import EncryptedStore
from encrypted_store.verify import FORMAT
from tests.helpers import FAST_KDF
from tests.store_proxy import shared_doc_values, write_format_2_rows


def unit_rows(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, 384)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


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
    assert list(shared_doc_values(settings.store_path).values()) == [30]  # control: one document
    st = open_store(settings, ring)
    assert st.host.info()["format"] == FORMAT
    assert shared_doc_values(settings.store_path) == {}
    assert st.count() == 30 and st.stats()["pending"] == 0 and st.last_warnings == []
    for i in (0, 19, 20, 29):
        hit = st.search(x[i], k=1)[0][0]
        assert hit.record.id == f"old{i}" and hit.record.text == f"old note {i}"
    st.close()
    again = open_store(settings, ring)  # migrated once: a second open has nothing to do
    assert again.count() == 30 and again.search(x[5], k=1)[0][0].record.id == "old5"
    again.close()


def _format_2_store(settings: Settings, ring: Keyring, x: np.ndarray) -> dict[str, str]:
    """A store as format 2 left it: 60 records of 4 documents (40 placed in block 0, 20 pending),
    each row carrying its document's HMAC. Returns record id -> document key."""
    docs = {f"r{i}": f"doc{i % 4}" for i in range(len(x))}
    st = open_store(settings, ring)
    st.add([RecordIn(rid, f"note {rid}", v, docs[rid], {}) for rid, v in zip(docs, x[:40], strict=False)])
    st.flush()
    st.add([RecordIn(f"r{i}", f"note r{i}", x[i], docs[f"r{i}"], {}) for i in range(40, len(x))])
    st.host.close()  # keep the last 20 pending
    st.kit.close()
    write_format_2_rows(settings.store_path, ring, docs)
    return docs


def test_format_2_rows_lose_their_shared_doc_values_on_open(settings: Settings, ring: Keyring) -> None:
    x = unit_rows(60, 1)
    docs = _format_2_store(settings, ring, x)
    shared = shared_doc_values(settings.store_path)
    assert sorted(shared.values()) == [15, 15, 15, 15]  # control: each document's rows share a value
    st = open_store(settings, ring)
    assert st.host.info()["format"] == FORMAT == 3
    assert shared_doc_values(settings.store_path) == {}  # every row (decoys included) has its own
    assert st.count() == 60 and st.stats()["pending"] == 0 and st.last_warnings == []
    for i in (0, 39, 40, 59):
        assert st.search(x[i], k=1)[0][0].record.id == f"r{i}"
    assert st.get(["r5"])[0].doc == docs["r5"]  # the document key stays with the record, sealed
    doc1 = [rid for rid, doc in docs.items() if doc == "doc1"]
    assert st.delete(doc1) == 15 and st.count() == 45
    assert all(h.record.doc != "doc1" for h in st.search(x[1], k=10)[0])
    st.close()
    with sqlite3.connect(settings.store_path) as conn:  # the host no longer indexes the column
        assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'records_doc'").fetchone() is None
    again = open_store(settings, ring)
    counter = again.state().counter
    assert again.count() == 45 and again.state().counter == counter  # migrated once: nothing to redo
    again.close()


def test_a_crash_during_the_format_2_migration_is_finished_by_the_next_open(
    settings: Settings, ring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    x = unit_rows(60, 2)
    _format_2_store(settings, ring, x)

    def killed(_store: EncryptedStore) -> int:
        raise KeyboardInterrupt  # the block is rewritten; the pending rows are not placed yet

    with monkeypatch.context() as patch:
        patch.setattr(EncryptedStore, "flush", killed)
        with pytest.raises(KeyboardInterrupt):
            open_store(settings, ring)
    assert LocalHost(settings.store_path).info()["format"] == 2
    assert sorted(shared_doc_values(settings.store_path).values()) == [5, 5, 5, 5]  # pending rows: not yet
    st = open_store(settings, ring)
    assert st.host.info()["format"] == FORMAT and shared_doc_values(settings.store_path) == {}
    assert st.count() == 60 and st.search(x[50], k=1)[0][0].record.id == "r50"
    st.close()
