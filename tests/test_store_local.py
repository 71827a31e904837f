"""The embedded store on a real SQLite file: search quality, CRUD, filters, bad input, damage."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
import sqlite_utils

from assistant.config import Settings, load_settings
from assistant.wiring import create_keys, open_store
from encrypted_store.api import RecordIn, SearchFilter
from encrypted_store.errors import InputError, MismatchError, StoreError
from encrypted_store.keys import Keyring
from encrypted_store.store import EncryptedStore
from tests.helpers import FAST_KDF

DIM = 384


def unit_rows(n: int, seed: int, dim: int = DIM) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def records(vectors: np.ndarray, prefix: str = "r") -> list[RecordIn]:
    return [
        RecordIn(
            f"{prefix}{i}",
            f"private note number {i} about {prefix}",
            v,
            f"doc{i % 7}",
            {"source": "mail" if i % 2 else "note", "date": f"2024-0{1 + i % 9}-15", "path": f"/x/{i}"},
        )
        for i, v in enumerate(vectors)
    ]


@pytest.fixture
def store(settings: Settings, ring: Keyring) -> EncryptedStore:
    st = open_store(settings, ring)
    yield st
    st.close()


def _exact_top(q: np.ndarray, x: np.ndarray, k: int) -> list[list[str]]:
    scores = q.astype(np.float64) @ x.astype(np.float64).T
    return [[f"r{i}" for i in np.argsort(-row)[:k]] for row in scores]


@pytest.mark.slow
def test_search_matches_exact_in_both_modes(store: EncryptedStore) -> None:
    x = unit_rows(600, 0)
    store.add(records(x))
    assert store.flush() == 600
    assert store.backend.info()["pending"] == 0 and store.count() == 600
    q = x[:4] + 0.05 * unit_rows(4, 1)
    want = _exact_top(q / np.linalg.norm(q, axis=1, keepdims=True), x, 10)
    for encrypted, rows in ((False, 4), (True, 2)):
        hits = store.search(q[:rows], k=10, encrypted_query=encrypted)
        assert [[h.record.id for h in row] for row in hits] == want[:rows]
        assert all(h.query == i for i, row in enumerate(hits) for h in row)
        assert hits[0][0].record.text == "private note number 0 about r"
        assert hits[0][0].score > hits[0][1].score
    scores, positions = store.encrypted_scores(q / np.linalg.norm(q, axis=1, keepdims=True))
    assert scores.shape == (4, 600) and len(positions) == 600
    exact = np.sort(q.astype(np.float64) / np.linalg.norm(q, axis=1, keepdims=True) @ x.T.astype(np.float64))
    assert np.abs(np.sort(scores) - exact).max() < 1e-4


def test_pending_records_are_searchable_and_flush_on_close(settings: Settings, ring: Keyring) -> None:
    st = open_store(settings, ring)
    x = unit_rows(20, 2)
    st.add(records(x))
    assert st.backend.info()["pending"] == 20
    assert st.search(x[3], k=1)[0][0].record.id == "r3"
    st.close()
    again = open_store(settings, ring)
    assert again.backend.info()["pending"] == 0 and again.backend.info()["blocks"] == 1
    assert again.search(x[5], k=1)[0][0].record.id == "r5"
    again.close()
    again.close()  # closing twice is harmless (the indexer and the CLI may both close)


@pytest.mark.slow
def test_get_delete_replace_and_manifest(store: EncryptedStore) -> None:
    x = unit_rows(50, 3)
    store.add(records(x))
    store.flush()
    assert [r.id for r in store.get(["r1", "missing", "r2"])] == ["r1", "r2"]
    assert store.delete(["r1", "nope"]) == 1
    doc2 = [f"r{i}" for i in range(50) if i % 7 == 2]  # one document's records, by id
    assert store.delete(doc2) == len(doc2)
    assert not hasattr(store, "delete_doc")  # no delete by document: the host could link its rows
    ids = {h.record.id for h in store.search(x[1], k=50)[0]}
    assert "r1" not in ids and "r2" not in ids and "r3" in ids
    store.add([RecordIn("r3", "replaced text", x[4], "doc3", {})])  # same id: replaces
    store.flush()
    assert store.get(["r3"])[0].text == "replaced text"
    top = store.search(x[4], k=2)[0]
    assert {h.record.id for h in top} == {"r3", "r4"}
    store.manifest_put("/home/me/notes.txt", {"sha": "abc", "chunks": ["r3"]})
    assert store.manifest_get_all() == {"/home/me/notes.txt": {"sha": "abc", "chunks": ["r3"]}}
    store.manifest_delete("/home/me/notes.txt")
    assert store.manifest_get_all() == {}


def test_filters_apply_on_the_client(store: EncryptedStore) -> None:
    x = unit_rows(40, 4)
    store.add(records(x))
    store.flush()
    hits = store.search(x[0], k=5, filters=SearchFilter(sources=("mail",)))[0]
    assert len(hits) == 5 and all(h.record.meta["source"] == "mail" for h in hits)
    dated = store.search(x[0], k=40, filters=SearchFilter(date_from="2024-03-01", date_to="2024-04-30"))[0]
    assert dated and all("2024-03" <= h.record.meta["date"] <= "2024-04-30" for h in dated)


def test_dimension_mismatch_is_reported(settings: Settings, ring: Keyring, store: EncryptedStore) -> None:
    with pytest.raises(InputError, match="Dimension mismatch"):
        store.add([RecordIn("a", "t", unit_rows(1, 5, 512)[0], "d", {})])
    with pytest.raises(InputError, match="Dimension mismatch"):
        store.search(unit_rows(1, 5, 128))
    with pytest.raises(InputError, match="unit vector"):
        store.add([RecordIn("a", "t", np.zeros(DIM, dtype=np.float32), "d", {})])
    with pytest.raises(StoreError, match="Dimension mismatch") as exc:
        open_store(settings, ring, dim=768)
    assert exc.value.hint


def test_other_keys_cannot_open_the_store(settings: Settings, store: EncryptedStore, tmp_path: Path) -> None:
    other = create_keys(load_settings(home=tmp_path / "other"), "pw", kdf=FAST_KDF)
    with pytest.raises(MismatchError, match="different keys"):
        open_store(settings, other)


def test_tampered_payload_is_skipped_and_reported(settings: Settings, store: EncryptedStore) -> None:
    x = unit_rows(30, 6)
    store.add(records(x))
    store.flush()
    tag = store._tag("r7")
    conn = sqlite3.connect(settings.store_path)
    blob = conn.execute("SELECT payload FROM records WHERE tag = ?", (tag,)).fetchone()[0]
    conn.execute("UPDATE records SET payload = ? WHERE tag = ?", (blob[:-1] + bytes([blob[-1] ^ 1]), tag))
    conn.commit()
    conn.close()
    hits = store.search(x[7], k=3)[0]
    assert "r7" not in [h.record.id for h in hits] and len(hits) == 3
    assert any("integrity" in w for w in store.last_warnings)
    assert store.get(["r7"]) == [] and store.last_warnings


def test_truncated_database_gives_a_clear_error(settings: Settings, ring: Keyring) -> None:
    st = open_store(settings, ring)
    st.add(records(unit_rows(30, 7)))
    st.close()
    data = settings.store_path.read_bytes()
    settings.store_path.write_bytes(data[: len(data) // 3])
    for extra in ("-wal", "-shm"):
        Path(str(settings.store_path) + extra).unlink(missing_ok=True)
    with pytest.raises(StoreError) as exc:
        st = open_store(settings, ring)
        st.search(unit_rows(1, 8))
    assert "store database" in exc.value.message and "backup" in exc.value.hint


def test_schema_migrates_forward_and_refuses_newer(tmp_path: Path) -> None:
    from encrypted_store import db

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    db._v1(sqlite_utils.Database(conn))
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()
    database = db.Database(path)
    assert database.query("PRAGMA user_version")[0][0] == db.SCHEMA_VERSION
    assert database.query("SELECT count(*) FROM manifest")[0][0] == 0
    assert database.query("PRAGMA journal_mode")[0][0] == "wal"
    database.close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={db.SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer version"):
        db.Database(path)


def test_a_failed_migration_leaves_the_old_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from encrypted_store import db

    path = tmp_path / "store.db"
    db.Database(path).close()

    def broken(database: sqlite_utils.Database) -> None:
        database["half_done"].create({"x": int})
        raise RuntimeError("interrupted")

    monkeypatch.setattr(db, "SCHEMA_VERSION", db.SCHEMA_VERSION + 1)
    monkeypatch.setattr(db, "MIGRATIONS", [*db.MIGRATIONS, broken])
    with pytest.raises(RuntimeError):
        db.Database(path)
    monkeypatch.undo()
    database = db.Database(path)
    assert database.query("PRAGMA user_version")[0][0] == db.SCHEMA_VERSION
    assert not database.query("SELECT name FROM sqlite_master WHERE name = 'half_done'")
    database.close()
