"""The watcher's small parts, without a model: which events count, how changed paths collapse, the
sealed roots entry, and the citation pointer built from a record's meta."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

from assistant.ingest import manifest
from assistant.ingest.changes import _outermost
from assistant.ingest.citation import locate
from assistant.ingest.discover import hidden_under
from assistant.ingest.indexer import IndexSummary
from assistant.ingest.watch import Applied, _as_seen, _Filter
from tests.fixtures.ingest.helpers import open_real_store

ADDED, DELETED = SimpleNamespace(name="added"), SimpleNamespace(name="deleted")


def test_filter_keeps_readable_files_folders_and_deletions(tmp_path: Path) -> None:
    root, home = tmp_path / "records", tmp_path / "records" / "data"
    (root / "sub").mkdir(parents=True)
    for name in ("a.md", "b.xyz", ".hidden.md", "c.md~"):
        (root / name).write_text("x")
    keep = _Filter([str(root)], [str(home)])
    assert keep(ADDED, str(root / "a.md")) and keep(ADDED, str(root / "sub"))
    assert keep(DELETED, str(root / "gone.xyz"))  # a deleted path may have been a folder
    assert not keep(ADDED, str(root / "b.xyz")) and not keep(ADDED, str(root / "c.md~"))
    assert not keep(ADDED, str(root / ".hidden.md")) and not keep(DELETED, str(root / ".git" / "x.md"))
    assert not keep(ADDED, str(home / "store.db"))  # the data dir inside a watched folder


def test_hidden_is_relative_to_the_root() -> None:
    assert hidden_under("/r/.cache/a.md", ["/r"]) and hidden_under("/r/x/.a.md", ["/r"])
    assert not hidden_under("/home/.me/r/a.md", ["/home/.me/r"])  # a root inside a dot folder is fine
    assert not hidden_under("/elsewhere/.a.md", ["/r"])


def test_outermost_collapses_paths_inside_changed_folders() -> None:
    paths = ["/a/b/x.md", "/a/b", "/a/b c/y.md", "/a/bc.md", "/a/b/d/z.md"]
    assert _outermost(paths) == ["/a/b", "/a/b c/y.md", "/a/bc.md"]


def test_events_on_a_resolved_root_map_back(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    os.symlink(real, link)
    aliases = [(str(real), str(link))]
    assert _as_seen(str(real / "a.md"), aliases) == str(link / "a.md")
    assert _as_seen("/other/a.md", aliases) == "/other/a.md"


def test_roots_are_sealed_and_follow_forget(tmp_path: Path, isolated_home: Path) -> None:
    _settings, _keyring, store = open_real_store(isolated_home)
    try:
        store.manifest_put("k1", {"path": "/r/a.md", "sha256": "x", "chunks": 0})
        manifest.mark_synced(store, ["/r", "/s"], watching=True)
        roots = manifest.load_roots(store)
        assert [(r.path, r.files, r.watching) for r in roots] == [("/r", 1, True), ("/s", 0, True)]
        assert manifest.ROOTS_KEY not in manifest.load(store)  # not mistaken for a file
        manifest.stop_watching(store, ["/r"])
        assert [r.watching for r in manifest.load_roots(store)] == [False, True]
        manifest.forget(store, ["/s"])
        assert [r.path for r in manifest.load_roots(store)] == ["/r"]
    finally:
        store.close()


def test_locate_names_the_page_message_or_event() -> None:
    assert locate({"source": "document", "page": 3}) == "page 3"
    mail = {"source": "email", "subject": "Lab results", "from": "Dr Okafor", "date": "2025-03-02T09:15:00"}
    assert locate(mail) == 'e-mail "Lab results" from Dr Okafor, 2025-03-02 09:15'
    event = {"source": "calendar", "title": "Physio", "date": "2025-06-02T10:00:00", "location": "Riverside"}
    assert locate(event) == 'event "Physio", 2025-06-02 10:00, at Riverside'
    assert locate({"source": "document", "page": 1, "ocr": True}) == "page 1, text recognised from a scan"
    assert locate({"source": "record", "record": 3}) == "record 4"
    assert locate({"source": "note"}) == ""


def test_applied_line_says_what_changed() -> None:
    summary = IndexSummary(files_indexed=2, files_moved=1, files_removed=3, chunks_added=5, chunks_reused=2)
    line = Applied("2026-11-30T15:30:02+00:00", 6, summary).line()
    assert line.startswith("15:30:02  2 indexed, 1 moved, 3 removed") and "(2 reused)" in line
