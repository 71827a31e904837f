"""index_paths on the real encrypted store with the real embedder: incremental, private, forgettable."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.embedding import Embedder
from assistant.errors import Cancelled
from assistant.ingest import manifest
from assistant.ingest.indexer import IndexOptions, IndexProgress, index_paths
from tests.fixtures.ingest.helpers import open_real_store

SAMPLES = Path(__file__).parent.parent / "samples" / "records"
pytestmark = pytest.mark.slow  # embeds the sample corpus a few times


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SAMPLES, tmp_path / "records"))


@pytest.fixture
def real(isolated_home: Path) -> Iterator[tuple[object, object]]:
    _settings, keyring, store = open_real_store(isolated_home)
    yield keyring, store
    store.close()


def consistent(store: object) -> int:
    """The store holds exactly the chunks the manifest accounts for; returns that count."""
    files = manifest.load(store)  # type: ignore[arg-type]
    total = sum(f.chunks for f in files.values())
    assert store.count() == total  # type: ignore[attr-defined]
    assert manifest.JOURNAL_KEY not in store.manifest_get_all()  # type: ignore[attr-defined]
    return total


def test_first_run_then_no_op_rerun(corpus: Path, real: tuple, embedder: Embedder) -> None:
    keyring, store = real
    events: list[IndexProgress] = []
    first = index_paths([str(corpus)], store, embedder, keyring, progress=events.append)
    assert (first.files_seen, first.files_indexed, first.chunks_added) == (11, 11, 29)
    assert first.skipped == []
    assert consistent(store) == 29
    assert [e.files_done for e in events] == sorted(e.files_done for e in events)
    assert events[-1].files_total == 11 and events[-1].chunks_added == 29

    second = index_paths([str(corpus)], store, embedder, keyring)
    assert (second.files_unchanged, second.files_indexed, second.chunks_added, second.chunks_removed) == (
        11,
        0,
        0,
        0,
    )
    assert second.stages["embed"] == 0.0
    assert consistent(store) == 29


def test_changed_and_deleted_files_replace_and_remove_chunks(
    corpus: Path, real: tuple, embedder: Embedder
) -> None:
    keyring, store = real
    index_paths([str(corpus)], store, embedder, keyring)
    letter = corpus / "medical" / "2025-05-22-follow-up-letter.txt"
    letter.write_text("Date: 1 June 2025\n\nDose changed again: levothyroxine 100 micrograms daily.\n")
    (corpus / "contacts.vcf").unlink()
    summary = index_paths([str(corpus)], store, embedder, keyring)
    assert (summary.files_indexed, summary.files_unchanged, summary.files_removed) == (1, 9, 1)
    assert summary.chunks_added == 1
    assert summary.chunks_removed == 2 + 5  # the old letter's two chunks, the five contacts
    assert consistent(store) == 29 - 2 + 1 - 5
    hits = store.search(embedder.embed(["What is my current levothyroxine dose?"]), k=3)[0]
    top = hits[0].record
    assert "100 micrograms" in top.text
    assert top.meta["path"] == str(letter) and top.meta["date"] == "2025-06-01"
    texts = [r.record.text for q in store.search(embedder.embed(["Okafor phone number"]), k=40) for r in q]
    assert not any(t.startswith("Contact:") for t in texts)


def test_nothing_about_paths_or_text_reaches_the_database(
    corpus: Path, embedder: Embedder, isolated_home: Path
) -> None:
    _settings, keyring, store = open_real_store(isolated_home)
    try:
        index_paths([str(corpus)], store, embedder, keyring)
    finally:
        store.close()
    raw = b"".join(p.read_bytes() for p in isolated_home.rglob("store.db*"))
    assert len(raw) > 100_000
    for needle in (str(corpus), "follow-up-letter", "levothyroxine", "Okafor", "Alderbrook"):
        assert needle.encode() not in raw
    _settings, keyring2, store2 = open_real_store(isolated_home)
    try:
        files = manifest.load(store2)
        doc_keys = manifest.DocKeys(keyring2)
        assert {doc_keys(f.path) for f in files.values()} == set(files)  # keys are HMACs of the paths
        assert all(len(key) == 64 and "/" not in key for key in files)
        record = store2.get([next(iter(store2.search(embedder.embed(["dentist"]), k=1)[0])).record.id])[0]
        assert str(corpus) not in record.id and record.meta["path"].startswith(str(corpus))
    finally:
        store2.close()


def test_forget_a_folder_and_roots_do_not_touch_each_other(
    corpus: Path, real: tuple, embedder: Embedder
) -> None:
    keyring, store = real
    index_paths([str(corpus / "mail")], store, embedder, keyring)
    index_paths([str(corpus / "medical")], store, embedder, keyring)
    # indexing one root again leaves the other root's files alone
    again = index_paths([str(corpus / "medical")], store, embedder, keyring)
    assert again.files_removed == 0
    assert consistent(store) == 6 + 6
    gone, chunks = manifest.forget(store, [str(corpus / "mail")])
    assert sorted(Path(f.path).name for f in gone) == ["2025-06-02-knee-physio.eml", "inbox.mbox"]
    assert chunks == 6
    assert consistent(store) == 6
    assert all("/medical/" in f.path for f in manifest.load(store).values())


def test_changed_settings_reindex_everything(corpus: Path, real: tuple, embedder: Embedder) -> None:
    keyring, store = real
    index_paths([str(corpus / "medical")], store, embedder, keyring)
    summary = index_paths(
        [str(corpus / "medical")], store, embedder, keyring, options=IndexOptions(max_tokens=60)
    )
    assert summary.files_indexed == 4 and summary.files_unchanged == 0
    assert summary.chunks_removed == 6 and summary.chunks_added > 6
    consistent(store)


def test_cancel_stops_cleanly_and_the_next_run_finishes(
    corpus: Path, real: tuple, embedder: Embedder
) -> None:
    keyring, store = real
    stop = threading.Event()

    def progress(event: IndexProgress) -> None:
        if event.files_done >= 6:
            stop.set()

    options = IndexOptions(batch_chunks=4)
    with pytest.raises(Cancelled):
        index_paths([str(corpus)], store, embedder, keyring, options=options, progress=progress, cancel=stop)
    partial = consistent(store)
    assert 0 < partial < 29
    rest = index_paths([str(corpus)], store, embedder, keyring, options=options)
    assert rest.files_unchanged > 0 and rest.chunks_added == 29 - partial
    assert consistent(store) == 29
    vectors = store.search(np.eye(1, 384, dtype=np.float32), k=100)[0]
    assert len({h.record.id for h in vectors}) == 29  # no duplicates
