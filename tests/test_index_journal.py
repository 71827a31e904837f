"""A batch killed after its records reached the store is undone by record id: the journal lists every
id the batch may write or remove (the previous version's and the new one's), so recovery deletes
exactly those; a journal written before it listed ids (documents only) is still undone in full."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.ingest import manifest
from assistant.ingest.indexer import index_paths
from assistant.ingest.manifest import record_ids
from tests.fixtures.ingest.helpers import HashEmbedder, make_corpus, open_real_store

EMB = HashEmbedder()


class Killed(BaseException):
    """Stands in for SIGKILL right after a store write committed (tests/test_index_resume.py kills
    a real child process at the same point)."""


@pytest.mark.parametrize("journal_shape", ["ids", "docs only (written before ids)"])
def test_a_batch_killed_after_its_add_is_undone_exactly(
    isolated_home: Path, tmp_path: Path, journal_shape: str
) -> None:
    _settings, ring, store = open_real_store(isolated_home)
    notes = tmp_path / "notes"
    make_corpus(notes, 4, paragraphs=6)
    index_paths([str(notes)], store, EMB, ring)
    before = {Path(e.path).name: e for e in manifest.load(store).values()}
    edited = notes / "note-0000.md"  # a replacement and a new file in the batch that is killed
    edited.write_text(edited.read_text() + "\nOne more line.\n")
    make_corpus(notes / "new", 1, paragraphs=6, seed=9)

    real_add = store.add

    def killed_add(records: list) -> None:
        real_add(records)  # committed, but the manifest does not know yet
        raise Killed

    store.add = killed_add
    with pytest.raises(Killed):
        index_paths([str(notes)], store, EMB, ring)
    store.add = real_add
    journal = store.manifest_get_all()[manifest.JOURNAL_KEY]
    assert set(record_ids(before["note-0000.md"])) <= set(journal["ids"])  # the previous version's
    known = {rid for e in manifest.load(store).values() for rid in record_ids(e)}
    strays = [r.id for r in store.get(journal["ids"])]
    assert strays and not set(strays) & known  # control: the kill left records no manifest entry names
    if journal_shape != "ids":
        store.manifest_put(manifest.JOURNAL_KEY, {"docs": journal["docs"]})  # as the old code wrote it

    files, chunks = manifest.recover(store)
    assert (files, chunks) == (2, len(strays))
    assert store.get(journal["ids"]) == [] and manifest.JOURNAL_KEY not in store.manifest_get_all()
    left = {Path(e.path).name: e for e in manifest.load(store).values()}
    assert sorted(left) == ["note-0001.md", "note-0002.md", "note-0003.md"]  # the batch's files forgotten
    assert store.count() == sum(e.chunks for e in left.values())  # the others keep every record
    assert all(len(store.get(record_ids(e))) == e.chunks for e in left.values())

    again = index_paths([str(notes)], store, EMB, ring)  # the next run indexes them afresh
    assert (again.files_indexed, again.files_unchanged) == (2, 3)
    assert store.count() == sum(e.chunks for e in manifest.load(store).values())
    store.close()


def test_forgetting_many_records_splits_the_deletes(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store server takes at most 100,000 tags a request: removals go in parts of DELETE_AT_ONCE."""
    _settings, ring, store = open_real_store(isolated_home)
    notes = tmp_path / "notes"
    make_corpus(notes, 3, paragraphs=6)
    index_paths([str(notes)], store, EMB, ring)
    total = store.count()
    sizes: list[int] = []
    real_delete = store.delete

    def delete(ids: list[str]) -> int:
        sizes.append(len(ids))
        return real_delete(ids)

    store.delete = delete
    monkeypatch.setattr(manifest, "DELETE_AT_ONCE", 4)
    gone, chunks = manifest.forget(store, [str(notes)])
    assert len(gone) == 3 and chunks == total and store.count() == 0
    assert sum(sizes) == total and max(sizes) == 4 and len(sizes) == -(-total // 4)
    store.close()
