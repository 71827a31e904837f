"""The store host cannot link a document's records: indexing several multi-chunk files into a real
store server on 127.0.0.1 leaves no doc value shared by two rows, and replacing, forgetting, losing
and renaming a file (behind a recording proxy) sends requests that name record tags only, never a
document, and remove exactly that file's records."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assistant.config import load_settings
from assistant.ingest import manifest
from assistant.ingest.changes import apply_changes
from assistant.ingest.indexer import index_paths
from assistant.ingest.manifest import IndexedFile, record_ids
from assistant.wiring import create_keys, open_store
from encrypted_store import server, wire
from encrypted_store.keys import Keyring
from tests.fixtures.ingest.helpers import HashEmbedder, make_corpus
from tests.helpers import FAST_KDF
from tests.store_proxy import (
    TOKEN,
    RecordingProxy,
    old_doc_value,
    record_tag,
    recording_proxy,
    shared_doc_values,
    write_format_2_rows,
)

EMB = HashEmbedder()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[RecordingProxy]:
    srv = server.StoreServer(tmp_path / "server" / "store.db", "127.0.0.1", 0, TOKEN)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with recording_proxy(f"http://127.0.0.1:{srv.server_address[1]}") as rec:
            yield rec
    finally:
        srv.shutdown()
        srv.server_close()


def names(body: bytes, value: bytes) -> bool:
    """Does a request body carry `value` (raw, or base64 as the wire writes bytes)?"""
    return value in body or wire.b64(value).encode() in body


def tags(ring: Keyring, entry: IndexedFile) -> set[bytes]:
    return {record_tag(ring, rid) for rid in record_ids(entry)}


def test_remote_rows_link_no_document_and_removals_name_record_tags_only(
    proxy: RecordingProxy, tmp_path: Path
) -> None:
    settings = load_settings(store_url=proxy.url, store_token=TOKEN)
    ring = create_keys(settings, "pw", kdf=FAST_KDF)
    store = open_store(settings, ring)
    notes = tmp_path / "notes"
    make_corpus(notes, 5, paragraphs=8)
    index_paths([str(notes)], store, EMB, ring)
    store.flush()
    files = {Path(e.path).name: e for e in manifest.load(store).values()}
    assert len(files) == 5 and all(e.chunks >= 3 for e in files.values())
    db = tmp_path / "server" / "store.db"
    assert shared_doc_values(db) == {}  # (a) at rest: no two rows carry one value
    docs = [e.doc for e in files.values()]

    def removal(action: Callable[[], object], entry: IndexedFile) -> None:
        """Run `action`: its requests name no document, and its deletes name exactly `entry`'s tags."""
        start = len(proxy.log)
        texts = {r.id: r.text for r in store.get(record_ids(entry))}
        assert len(texts) == entry.chunks  # control: the file's records are there before
        action()
        log = proxy.log[start:]
        for ex in log:
            assert "docs" not in ex.args(), ex.method
            if ex.method in ("fetch", "delete"):
                assert set(ex.args()) <= {"tags", "positions", "state"}, ex.method
            for doc in docs:
                assert not names(ex.request, old_doc_value(ring, doc)), ex.method
                assert doc.encode() not in ex.request, ex.method
        deletes = [ex for ex in log if ex.method == "delete"]
        named = {t for ex in deletes for t in ex.args()["tags"]}
        assert len(deletes) == 1 and named == tags(ring, entry)
        assert names(deletes[0].request, next(iter(named)))  # control: the check finds a tag it names
        assert store.get(record_ids(entry)) == []
        for rid, text in texts.items():  # search no longer returns them
            assert all(h.record.id not in texts for h in store.search(EMB.embed([text]), k=3)[0]), rid

    old = files["note-0000.md"]
    (notes / "note-0000.md").write_text((notes / "note-0000.md").read_text() + "\nA new line.\n")
    removal(lambda: index_paths([str(notes)], store, EMB, ring), old)  # replaced
    (notes / "note-0002.md").unlink()
    removal(lambda: index_paths([str(notes)], store, EMB, ring), files["note-0002.md"])  # gone
    renamed = notes / "renamed.md"
    (notes / "note-0003.md").rename(renamed)
    moved = [str(notes / "note-0003.md"), str(renamed)]
    removal(lambda: apply_changes(moved, [str(notes)], store, EMB, ring), files["note-0003.md"])
    removal(lambda: manifest.forget(store, [str(notes / "note-0001.md")]), files["note-0001.md"])

    now = {Path(e.path).name: e for e in manifest.load(store).values()}
    assert sorted(now) == ["note-0000.md", "note-0004.md", "renamed.md"]
    assert now["renamed.md"].chunks == files["note-0003.md"].chunks
    kept = store.get(record_ids(files["note-0004.md"]))  # the untouched file keeps every record
    assert len(kept) == files["note-0004.md"].chunks
    assert store.search(EMB.embed([kept[1].text]), k=1)[0][0].record.id == kept[1].id
    assert store.count() == sum(e.chunks for e in now.values())
    store.close()
    assert shared_doc_values(db) == {}

    # control: the same rows written the old way (each carrying its document's HMAC) are linked
    write_format_2_rows(db, ring, {rid: e.doc for e in now.values() for rid in record_ids(e)})
    assert sorted(shared_doc_values(db).values()) == sorted(e.chunks for e in now.values())
