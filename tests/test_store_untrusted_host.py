"""A store host that learns nothing and cannot steer the client: a recording proxy between the
client and a real `StoreServer` on 127.0.0.1, and a host that tampers in each way issue 14 lists."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.config import load_settings
from assistant.wiring import create_keys, open_store
from encrypted_store.api import RecordIn
from encrypted_store.client import HttpHost
from encrypted_store.errors import InputError
from encrypted_store.keys import Keyring
from encrypted_store.store import EncryptedStore
from encrypted_store.verify import HostIntegrityError, RollbackError
from tests.helpers import FAST_KDF
from tests.store_proxy import TOKEN, RecordingProxy, best_cosine, recording_proxy, tampering_server


def unit_rows(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, 384)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def recs(x: np.ndarray, prefix: str = "r") -> list[RecordIn]:
    return [
        RecordIn(f"{prefix}{i}", f"Dr Okafor note {prefix}{i}" + " x" * (i % 50), v, f"doc{i % 9}", {})
        for i, v in enumerate(x)
    ]


@pytest.fixture
def ring() -> Keyring:
    return create_keys(load_settings(), "pw", kdf=FAST_KDF)


@pytest.fixture
def evil(tmp_path: Path) -> Iterator[tuple[RecordingProxy, object]]:
    with (
        tampering_server(tmp_path / "server" / "store.db") as srv,
        recording_proxy(f"http://127.0.0.1:{srv.server_address[1]}") as proxy,
    ):
        yield proxy, srv.backend


def remote_store(proxy: RecordingProxy, ring: Keyring, tmp_path: Path, **kw: object) -> EncryptedStore:
    return EncryptedStore(HttpHost(proxy.url, TOKEN), ring, state_path=tmp_path / "client-state", **kw)


X = unit_rows(300, 0)


def filled(proxy: RecordingProxy, ring: Keyring, tmp_path: Path, **kw: object) -> EncryptedStore:
    st = remote_store(proxy, ring, tmp_path, **kw)
    st.add(recs(X))
    st.flush()
    return st


def test_default_remote_search_sends_no_query_vector_and_the_control_does(
    evil: tuple[RecordingProxy, object], ring: Keyring, tmp_path: Path
) -> None:
    proxy, _host = evil
    st = filled(proxy, ring, tmp_path)
    q = X[[3, 7]] + 0.02 * unit_rows(2, 1)
    proxy.log.clear()
    hits = st.search(q, k=3)  # the default for a remote host: encrypted queries
    assert [row[0].record.id for row in hits] == ["r3", "r7"]
    assert [e.method for e in proxy.log if e.method.startswith("scan")] == ["scan_encrypted"]
    assert max(best_cosine(e.request, q) for e in proxy.log) < 0.3
    with pytest.raises(InputError, match="refused"):
        st.search(q, k=3, encrypted_query=False)
    st.close()
    # control: the same decoder on a plaintext-query search (forced, as only tests may) finds the vector
    control = remote_store(proxy, ring, tmp_path, plaintext_remote_queries=True)
    proxy.log.clear()
    assert control.search(q, k=3, encrypted_query=False)[0][0].record.id == "r3"
    assert [e.method for e in proxy.log if e.method.startswith("scan")] == ["scan_plain"]
    assert max(best_cosine(e.request, q) for e in proxy.log) > 0.999
    control.close()


def test_one_fixed_size_fetch_in_random_order_padded_to_buckets(
    evil: tuple[RecordingProxy, object], ring: Keyring, tmp_path: Path
) -> None:
    proxy, _host = evil
    st = filled(proxy, ring, tmp_path)
    orders = []
    for q in (X[[5, 5]], X[[5, 6]]):  # same query twice, then two different ones
        proxy.log.clear()
        st.search(q, k=2)
        fetches = proxy.calls("fetch")
        assert len(fetches) == 1
        positions = fetches[0].args()["positions"]
        assert len(positions) == len(set(positions)) == 2 * (16 * 2 + 4 * 16)  # overlap does not show
        orders.append(positions)
        sizes = {len(r.payload) for r in st.host.fetch(positions=positions)}
        assert sizes <= {4096, 8192}  # text lengths vary 0..100 chars: one bucket here
    assert orders[0] != sorted(orders[0])
    st.close()


def test_the_issues_attack_gets_an_error_and_no_fetch(
    evil: tuple[RecordingProxy, object], ring: Keyring, tmp_path: Path
) -> None:
    proxy, host = evil
    st = filled(proxy, ring, tmp_path)
    for attacks in (
        {"score_offset"},
        {"score_offset", "flip_state", "no_rows"},
        {"flip_state"},
        {"drop_block"},
    ):
        host.attacks = attacks  # type: ignore[attr-defined]
        proxy.log.clear()
        with pytest.raises(HostIntegrityError) as exc:
            st.search(X[3], k=3)
        assert exc.value.hint
        assert proxy.calls("fetch") == [], attacks  # nothing key-dependent reached the host
    host.attacks = set()  # type: ignore[attr-defined]
    assert st.search(X[3], k=1)[0][0].record.id == "r3" and st.last_warnings == []
    st.close()


def test_rows_withheld_or_swapped_give_fewer_hits_and_warnings_never_a_wider_fetch(
    evil: tuple[RecordingProxy, object], ring: Keyring, tmp_path: Path
) -> None:
    proxy, host = evil
    st = filled(proxy, ring, tmp_path)
    host.attacks = {"no_rows"}  # type: ignore[attr-defined]
    proxy.log.clear()
    assert st.search(X[3], k=3) == [[]]
    assert len(proxy.calls("fetch")) == 1 and any("did not return" in w for w in st.last_warnings)
    host.attacks = {"old_rows"}  # type: ignore[attr-defined]
    row = st.host.fetch(tags=[st._tag("r3")])[0]
    host.old_rows = {st._tag("r3"): st.host.fetch(tags=[st._tag("r4")])[0].payload}  # type: ignore[attr-defined]
    hits = st.search(X[3], k=3)[0]
    assert "r3" not in [h.record.id for h in hits] and any("integrity" in w for w in st.last_warnings)
    assert row.pos is not None
    host.attacks = set()  # type: ignore[attr-defined]
    st.close()


def test_a_rolled_back_record_is_refused(
    evil: tuple[RecordingProxy, object], ring: Keyring, tmp_path: Path
) -> None:
    proxy, host = evil
    st = remote_store(proxy, ring, tmp_path)
    st.add(recs(X[:50]))
    st.flush()
    old = {r.tag: r.payload for r in st.host.fetch(tags=[st._tag("r3")])}
    st.add(recs(X[50:80], "s"))
    st.flush()  # rewrites the tail block: r3 keeps its slot, under a new version
    host.old_rows = old  # type: ignore[attr-defined]
    host.attacks = {"old_rows"}  # type: ignore[attr-defined]
    hits = st.search(X[3], k=3)[0]
    assert "r3" not in [h.record.id for h in hits]
    assert any("older copy" in w and "rolled back" in w for w in st.last_warnings)
    assert st.get(["r3"]) == [] and any("older copy" in w for w in st.last_warnings)
    host.attacks = set()  # type: ignore[attr-defined]
    assert st.get(["r3"])[0].id == "r3"
    st.close()


def test_an_old_or_missing_state_is_a_rollback(
    evil: tuple[RecordingProxy, object], ring: Keyring, tmp_path: Path
) -> None:
    proxy, host = evil
    st = remote_store(proxy, ring, tmp_path)
    st.add(recs(X[:40]))
    host.old_state = st.host.state()  # type: ignore[attr-defined]
    st.flush()
    st.delete(["r1"])
    for attack in ("old_state", "no_state"):
        host.attacks = {attack}  # type: ignore[attr-defined]
        with pytest.raises(RollbackError, match="restore"):
            st.search(X[1], k=2)
        # a fresh client process on the same data dir remembers the newest state too
        with pytest.raises(RollbackError):
            remote_store(proxy, ring, tmp_path).count()
    host.attacks = set()  # type: ignore[attr-defined]
    assert "r1" not in [h.record.id for h in st.search(X[1], k=2)[0]]
    st.close()


def test_an_old_copy_of_the_embedded_store_is_refused(ring: Keyring) -> None:
    settings = load_settings()
    st = open_store(settings, ring)
    st.add(recs(X[:30]))
    st.close()
    backup = settings.home / "backup.db"
    shutil.copy(settings.store_path, backup)
    st = open_store(settings, ring)
    st.delete(["r2"])
    st.close()
    shutil.copy(backup, settings.store_path)  # the attacker puts the old file back
    st = open_store(settings, ring)
    with pytest.raises(RollbackError, match="older than state") as exc:
        st.search(X[2], k=1)
    assert "store-state.sealed" in exc.value.hint
    st.host.close()
    (settings.home / "store-state.sealed").unlink()  # the user restored that backup on purpose
    st = open_store(settings, ring)
    assert st.search(X[2], k=1)[0][0].record.id == "r2" and st.last_warnings == []
    st.host.close()
