"""Small pieces of the indexer that need no model: keys, ids, path scoping, cancel flags, JSON shape."""

from __future__ import annotations

import threading

from assistant.ingest.indexer import IndexSummary, _stopped, record_id
from assistant.ingest.manifest import DocKeys, under
from assistant.ingest.types import Skipped
from encrypted_store.keys import Keyring
from models.base import CancelToken


def keyring(seed: bytes) -> Keyring:
    return Keyring(master_key=seed * 32, ckks_secret=b"")


def test_doc_keys_are_keyed_hmacs_of_the_path() -> None:
    a, b = DocKeys(keyring(b"a")), DocKeys(keyring(b"b"))
    path = "/home/dana/records/letter.txt"
    assert a(path) == a(path) and len(a(path)) == 64
    assert a(path) != b(path)  # another key, another doc key: nothing to guess from the path alone
    assert a(path) != a(path + "x")
    rid = record_id(a(path), "f" * 64, 3)
    assert "letter" not in rid and "/" not in rid and rid.endswith(".3")
    assert record_id(a(path), "e" * 64, 3) != rid  # a new version of the file gets new ids


def test_under_matches_whole_path_components() -> None:
    assert under("/a/b/c.txt", ["/a/b"])
    assert under("/a/b", ["/a/b"])
    assert under("/a/b/c.txt", ["/a/b/"])
    assert not under("/a/bc/c.txt", ["/a/b"])
    assert not under("/x/c.txt", ["/a", "/b"])


def test_cancel_accepts_events_and_cancel_tokens() -> None:
    event, token = threading.Event(), CancelToken()
    assert not _stopped(event) and not _stopped(token) and not _stopped(None)
    event.set()
    token.cancel()
    assert _stopped(event) and _stopped(token)


def test_summary_json_shape() -> None:
    summary = IndexSummary(files_seen=3, files_indexed=1, chunks_added=4, seconds=1.23456)
    summary.skipped.append(Skipped("/x.bin", "unsupported type .bin"))
    data = summary.to_json()
    assert data["files_skipped"] == 1
    assert data["skipped"] == [{"path": "/x.bin", "reason": "unsupported type .bin"}]
    assert data["seconds"] == 1.235
    assert set(data) >= {"files_seen", "files_indexed", "chunks_added", "chunks_removed", "stages"}
