"""`assistant index --watch` as a user runs it (a real process): it indexes, applies a change, and
Ctrl-C (SIGINT) stops it cleanly: exit 0, nothing half-applied, the root no longer marked watching."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from assistant.cli.main import main
from tests.fixtures.ingest.helpers import open_real_store

REPO = Path(__file__).parent.parent
pytestmark = pytest.mark.slow  # the child loads the embedding model


def next_event(child: subprocess.Popen[str], name: str) -> dict[str, Any]:
    assert child.stdout is not None
    for line in child.stdout:
        event = json.loads(line)
        if event["event"] == name:
            return event
    raise AssertionError(f"the watcher ended before '{name}'")


def test_watch_applies_a_change_and_ctrl_c_stops_cleanly(
    tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _settings, _keyring, store = open_real_store(isolated_home)
    store.close()
    folder = tmp_path / "records"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nThe boiler service is booked for 2 May.\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "ASSISTANT_PASSPHRASE": "test passphrase"}
    child = subprocess.Popen(
        [sys.executable, "-m", "assistant", "index", "--watch", str(folder), "--json", "--debounce", "300"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        assert next_event(child, "indexed")["files_indexed"] == 1
        (folder / "b.md").write_text("# B\n\nThe library books are due back on Friday.\n")
        applied = next_event(child, "applied")
        assert (applied["files_indexed"], applied["chunks_added"]) == (1, 1)
        child.send_signal(signal.SIGINT)
        assert next_event(child, "stopped")["batches"] >= 1
        assert child.wait(60) == 0
        assert child.stderr is not None and "Traceback" not in child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
    monkeypatch.setenv("ASSISTANT_PASSPHRASE", "test passphrase")
    capsys.readouterr()
    main(["index", "--list", "--json"])
    listed = json.loads(capsys.readouterr().out)
    assert sorted(Path(f["path"]).name for f in listed["files"]) == ["a.md", "b.md"]
    assert [(r["path"], r["files"], r["watching"]) for r in listed["roots"]] == [(str(folder), 2, False)]
