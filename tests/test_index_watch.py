"""`watch_paths` with a real watcher (watchfiles), the real embedder and the real encrypted store: after
each change on disk, the store, the manifest and `assistant index --list` match the folder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.cli.main import main
from assistant.embedding import Embedder
from assistant.ingest import manifest
from tests.fixtures.ingest.watching import CountingEmbedder, Watcher, matches, on_disk, settle

pytestmark = pytest.mark.slow  # real model, real store, real watcher


@pytest.fixture(scope="module")
def real_embedder() -> Embedder:
    return Embedder()


@pytest.fixture
def watched(
    tmp_path: Path, isolated_home: Path, real_embedder: Embedder
) -> Iterator[Callable[[Path], Watcher]]:
    made: list[Watcher] = []

    def start(root: Path) -> Watcher:
        made.append(Watcher(isolated_home, root, CountingEmbedder(real_embedder)))
        return made[-1]

    yield start
    for w in made:
        w.close()


def listed(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """`assistant index --list --json`, run like a user in another terminal would."""
    monkeypatch.setenv("ASSISTANT_PASSPHRASE", "test passphrase")
    capsys.readouterr()
    main(["index", "--list", "--json"])
    return json.loads(capsys.readouterr().out)


def check_list(root: Path, capsys: Any, monkeypatch: Any, watching: bool = True) -> None:
    shown = listed(capsys, monkeypatch)
    assert sorted(f["path"] for f in shown["files"]) == sorted(on_disk(root))
    (entry,) = shown["roots"]
    assert entry["path"] == str(root) and entry["watching"] is watching
    assert entry["files"] == len(on_disk(root)) and entry["last_sync"]


def note(text: str) -> str:
    return f"# Note\n\n{text}\n"


def test_create_modify_rename_delete(
    tmp_path: Path, watched: Callable[[Path], Watcher], capsys: Any, monkeypatch: Any
) -> None:
    root = tmp_path / "records"
    root.mkdir()
    (root / "dentist.md").write_text(note("Cleaning with Dr Lee on 14 March at 09:30."))
    w = watched(root)
    settle(w)
    check_list(root, capsys, monkeypatch)

    (root / "garden.md").write_text(note("Plant the tomato seedlings in late April."))
    (root / ".draft.md").write_text(note("hidden: never indexed"))
    (root / "photo.xyz").write_text("not a readable type")
    settle(w)
    check_list(root, capsys, monkeypatch)

    (root / "garden.md").write_text(note("Plant the tomato seedlings in early May, after the frost."))
    settle(w)
    hit = w.store.search(w.embedder.inner.embed(["when to plant tomatoes"]), k=1)[0][0].record
    assert "early May" in hit.text

    before = w.embedder.texts
    (root / "sub").mkdir()
    os.rename(root / "garden.md", root / "sub" / "vegetables.md")
    settle(w)
    assert w.embedder.texts == before  # a rename moves the vectors; nothing is embedded again
    moved = [a for a in w.applied if a.summary.files_moved]
    assert moved and moved[-1].summary.chunks_reused == moved[-1].summary.chunks_added
    hit = w.store.search(w.embedder.inner.embed(["when to plant tomatoes"]), k=1)[0][0].record
    assert hit.meta["path"] == str(root / "sub" / "vegetables.md")
    check_list(root, capsys, monkeypatch)

    (root / "dentist.md").unlink()
    settle(w)
    texts = [h.record.text for h in w.store.search(w.embedder.inner.embed(["Dr Lee cleaning"]), k=5)[0]]
    assert not any("Dr Lee" in t for t in texts)
    check_list(root, capsys, monkeypatch)


def test_burst_of_200_then_folder_renamed_then_deleted_whole(
    tmp_path: Path, watched: Callable[[Path], Watcher], capsys: Any, monkeypatch: Any
) -> None:
    root = tmp_path / "records"
    (root / "inbox").mkdir(parents=True)
    (root / "keep.md").write_text(note("The car service is due at 60,000 km."))
    w = watched(root)
    settle(w)
    for i in range(200):
        (root / "inbox" / f"item-{i:03d}.md").write_text(note(f"Receipt {i}: {i * 7} euros for item {i}."))
    settle(w)
    assert len(manifest.load(w.store)) == 201
    check_list(root, capsys, monkeypatch)

    before = w.embedder.texts
    os.rename(root / "inbox", root / "archive")
    settle(w)
    assert w.embedder.texts == before  # a moved folder moves its records
    assert all("/archive/" in f.path for f in manifest.load(w.store).values() if "item-" in f.path)

    shutil.rmtree(root / "archive")
    settle(w)
    assert [Path(f.path).name for f in manifest.load(w.store).values()] == ["keep.md"]
    check_list(root, capsys, monkeypatch)


def test_a_file_written_slowly_in_pieces(tmp_path: Path, watched: Callable[[Path], Watcher]) -> None:
    root = tmp_path / "records"
    root.mkdir()
    w = watched(root)
    settle(w)
    path = root / "journal.md"
    paragraphs = [
        " ".join(
            f"Day {d}: walked {d + 2} km along the river and wrote a letter to the bank." for _ in range(8)
        )
        for d in range(4)
    ]
    with path.open("w") as fh:
        fh.write("# Journal\n\n")
        for para in paragraphs:
            fh.write(para + "\n\n")
            fh.flush()
            settle(w)  # each piece is applied while the file is still open
    settle(w)
    assert sum(a.summary.chunks_reused for a in w.applied) > 0  # unchanged chunks kept their vectors
    (entry,) = manifest.load(w.store).values()
    assert entry.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_stop_marks_the_root_not_watching_and_nothing_is_in_clear(
    tmp_path: Path, watched: Callable[[Path], Watcher], capsys: Any, monkeypatch: Any, isolated_home: Path
) -> None:
    root = tmp_path / "records-Wisteria"
    root.mkdir()
    (root / "a.md").write_text(note("Swimming lesson on Saturday with Coach Okonkwo."))
    w = watched(root)
    settle(w)
    w.stop.set()
    w.thread.join(30)
    assert not w.thread.is_alive() and w.error is None
    check_list(root, capsys, monkeypatch, watching=False)
    # the roots, their sync times and the files are sealed: neither the folder nor the text is on disk
    assert [r.path for r in manifest.load_roots(w.store)] == [str(root)]  # control: it is recorded
    raw = b"".join(p.read_bytes() for p in isolated_home.rglob("store.db*"))
    assert len(raw) > 10_000
    for needle in (str(root), "Wisteria", "Okonkwo", "last_sync"):
        assert needle.encode() not in raw
    (root / "b.md").write_text(note("Piano lesson on Sunday."))
    time.sleep(1.0)
    assert not matches(w.store, root)  # control: nothing follows the folder after a stop
