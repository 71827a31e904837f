"""kill -9 in the middle of `index_paths` (a real subprocess) leaves a consistent store; the next run
finishes the job: no lost files, no duplicates, no stale chunks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from assistant.embedding import Embedder
from assistant.ingest import manifest
from assistant.ingest.indexer import index_paths
from tests.fixtures.ingest.helpers import expected_chunks, make_corpus, open_real_store

REPO = Path(__file__).parent.parent
pytestmark = pytest.mark.slow  # each test starts a child process that loads the embedding model

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from assistant.embedding import Embedder
    from assistant.ingest.indexer import IndexOptions, index_paths
    from tests.fixtures.ingest.helpers import open_real_store

    home, corpus, kill_after_add = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    _settings, keyring, store = open_real_store(home)
    if kill_after_add:
        real_add, calls = store.add, []

        def add(records):
            real_add(records)  # committed...
            calls.append(1)
            if len(calls) == kill_after_add:  # ...but the manifest does not know yet
                os.kill(os.getpid(), signal.SIGKILL)

        store.add = add
    progress = lambda e: print("progress", e.files_done, e.chunks_added, flush=True)
    index_paths([corpus], store, Embedder(), keyring, options=IndexOptions(batch_chunks=8), progress=progress)
    print("finished", flush=True)
    """
)


def start_child(home: Path, corpus: Path, kill_after_add: int = 0) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home), str(corpus), str(kill_after_add)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=REPO,
    )


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def check_complete(home: Path, corpus: Path, embedder: Embedder, files: int) -> dict[str, int]:
    """Run again in this process; afterwards the store must match a clean index of the corpus."""
    _settings, keyring, store = open_real_store(home)
    try:
        summary = index_paths([str(corpus)], store, embedder, keyring)
        indexed = manifest.load(store)
        assert len(indexed) == files
        assert summary.files_indexed + summary.files_unchanged == files
        want = expected_chunks(sorted(corpus.iterdir()))
        assert store.count() == sum(f.chunks for f in indexed.values()) == want
        assert manifest.JOURNAL_KEY not in store.manifest_get_all()
        again = index_paths([str(corpus)], store, embedder, keyring)
        assert (again.files_unchanged, again.chunks_added) == (files, 0)
        return {"recovered": summary.files_recovered, "added": summary.chunks_added, "count": store.count()}
    finally:
        store.close()


def test_sigkill_at_a_random_point_then_resume(
    tmp_path: Path, isolated_home: Path, embedder: Embedder
) -> None:
    corpus = tmp_path / "notes"
    make_corpus(corpus, files=40)
    child = start_child(isolated_home, corpus)
    assert child.stdout is not None
    stored = 0
    for line in child.stdout:  # wait until a few batches are in, then kill without warning
        if line.startswith("progress"):
            stored = int(line.split()[2])
            if stored >= 24:
                time.sleep(0.05)
                break
    child.send_signal(signal.SIGKILL)
    assert child.wait(30) == -signal.SIGKILL
    assert stored >= 24
    result = check_complete(isolated_home, corpus, embedder, files=40)
    assert result["added"] < result["count"]  # work done before the kill was kept


def test_sigkill_between_commit_and_manifest_is_rolled_back(
    tmp_path: Path, isolated_home: Path, embedder: Embedder
) -> None:
    corpus = tmp_path / "notes"
    paths = make_corpus(corpus, files=30)
    # first a full index, then change every file: the killed run is replacing old versions
    _settings, keyring, store = open_real_store(isolated_home)
    index_paths([str(corpus)], store, embedder, keyring)
    store.close()
    for path in paths:
        path.write_text(path.read_text() + "\nRevised: the dentist moved to Thursday.\n")
    child = start_child(isolated_home, corpus, kill_after_add=3)
    assert child.wait(600) == -signal.SIGKILL
    assert child.stdout is not None and "finished" not in child.stdout.read()
    result = check_complete(isolated_home, corpus, embedder, files=30)
    assert result["recovered"] > 0  # the interrupted batch was found in the journal and undone
    _settings, keyring, store = open_real_store(isolated_home)
    try:  # no chunk of an old version survived
        hits = store.search(embedder.embed(["the dentist moved to Thursday"]), k=result["count"])[0]
        last_chunks = [
            h for h in hits if h.record.meta["end"] == len(Path(h.record.meta["path"]).read_text()) - 1
        ]
        assert len(last_chunks) == 30 and all("Revised" in h.record.text for h in last_chunks)
    finally:
        store.close()
