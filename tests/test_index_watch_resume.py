"""kill -9 of a watching process (a real subprocess) in the middle of a batch it is applying: the
store holds no half-applied batch, and the next start (its first pass) recovers and catches up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.embedding import Embedder
from assistant.ingest import manifest
from tests.fixtures.ingest.helpers import make_corpus, open_real_store
from tests.fixtures.ingest.watching import Watcher, matches, settle

REPO = Path(__file__).parent.parent
pytestmark = pytest.mark.slow  # a child process loads the embedding model

CHILD = textwrap.dedent(
    """
    import os, signal, sys, threading
    from assistant.embedding import Embedder
    from assistant.ingest.indexer import IndexOptions
    from assistant.ingest.watch import WatchOptions, watch_paths
    from pathlib import Path
    from tests.fixtures.ingest.helpers import open_real_store

    home, root, kill_after_add = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    _settings, keyring, store = open_real_store(home)
    watching = []
    if kill_after_add:
        real_add, calls = store.add, []

        def add(records):
            real_add(records)  # committed, but the batch's manifest entries are not written yet
            if watching:
                calls.append(1)
                if len(calls) == kill_after_add:
                    os.kill(os.getpid(), signal.SIGKILL)

        store.add = add

    def started(summary):
        watching.append(1)
        print("started", summary.files_indexed, flush=True)

    watch_paths(
        [root], store, Embedder(), keyring, stop=threading.Event(), options=IndexOptions(batch_chunks=8),
        watch=WatchOptions(debounce_ms=400, step_ms=100, tick_ms=100), on_start=started,
        progress=lambda e: print("progress", e.chunks_added, flush=True) if watching else None,
    )
    """
)


def start_child(home: Path, root: Path, kill_after_add: int = 0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home), str(root), str(kill_after_add)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=REPO,
    )


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture
def child_holder() -> Iterator[list[subprocess.Popen[str]]]:
    children: list[subprocess.Popen[str]] = []
    yield children
    for child in children:  # never leave a watcher behind, whatever failed
        if child.poll() is None:
            child.kill()
            child.wait(30)


def wait_started(child: subprocess.Popen[str]) -> None:
    assert child.stdout is not None
    for line in child.stdout:
        if line.startswith("started"):
            return
    raise AssertionError("the child died before it started watching")


def change_everything(root: Path, paths: list[Path]) -> None:
    for path in paths[:12]:
        path.write_text(path.read_text() + "\nRevised: the physio moved to Thursday.\n")
    for path in paths[12:15]:
        path.unlink()
    os.rename(paths[15], root / "renamed.md")
    make_corpus(root / "new", files=10, seed=7)


def recover_and_check(home: Path, root: Path, embedder: Embedder) -> int:
    """A new watcher on the same data dir: its first pass undoes the torn batch and catches up."""
    w = Watcher(home, root, embedder)
    try:
        settle(w)
        assert w.first is not None
        return w.first.files_recovered
    finally:
        w.close()


def test_sigkill_between_commit_and_manifest_in_a_watched_batch(
    tmp_path: Path, isolated_home: Path, embedder: Embedder, child_holder: list
) -> None:
    root = tmp_path / "records"
    paths = make_corpus(root, files=20)
    child = start_child(isolated_home, root, kill_after_add=2)
    child_holder.append(child)
    wait_started(child)
    change_everything(root, paths)
    assert child.wait(300) == -signal.SIGKILL
    _settings, _keyring, store = open_real_store(isolated_home)
    try:  # non-vacuous: the kill left a torn batch behind (the journal), so recovery has work to do
        assert manifest.JOURNAL_KEY in store.manifest_get_all()
        assert not matches(store, root)
    finally:
        store.close()
    assert recover_and_check(isolated_home, root, embedder) > 0


def test_sigkill_at_a_random_point_of_a_burst(
    tmp_path: Path, isolated_home: Path, embedder: Embedder, child_holder: list
) -> None:
    root = tmp_path / "records"
    paths = make_corpus(root, files=20)
    child = start_child(isolated_home, root)
    child_holder.append(child)
    wait_started(child)
    change_everything(root, paths)
    assert child.stdout is not None
    for line in child.stdout:  # some batches of the burst are in; kill without warning
        if line.startswith("progress") and int(line.split()[1]) >= 8:
            break
    child.send_signal(signal.SIGKILL)
    assert child.wait(30) == -signal.SIGKILL
    recover_and_check(isolated_home, root, embedder)
    _settings, _keyring, store = open_real_store(isolated_home)
    try:
        assert matches(store, root) and manifest.JOURNAL_KEY not in store.manifest_get_all()
        assert "renamed.md" in {Path(f.path).name for f in manifest.load(store).values()}
    finally:
        store.close()
