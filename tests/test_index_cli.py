"""`assistant index` end to end through the CLI entry point, on the real store and model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.cli.main import main
from tests.fixtures.ingest.helpers import open_real_store

SAMPLES = Path(__file__).parent.parent / "samples" / "records"


@pytest.fixture
def initialized(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ASSISTANT_PASSPHRASE", "test passphrase")
    _settings, _keyring, store = open_real_store(isolated_home)
    store.close()
    return isolated_home


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow  # loads the embedding model once
def test_index_list_rerun_forget(
    initialized: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = Path(shutil.copytree(SAMPLES / "medical", tmp_path / "medical"))
    (corpus / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    code, out, _ = run_cli(["index", str(corpus), "--json"], capsys)
    assert code == 0
    summary = json.loads(out)
    assert (summary["files_seen"], summary["files_indexed"], summary["chunks_added"]) == (5, 4, 6)
    assert summary["skipped"] == [{"path": str(corpus / "clip.mp4"), "reason": "unsupported type .mp4"}]
    assert set(summary["stages"]) == {"read", "embed", "store"} and summary["seconds"] > 0

    code, out, _ = run_cli(["index", "--list", "--json"], capsys)
    listed = json.loads(out)
    assert code == 0 and listed["chunks"] == 6
    names = sorted(Path(f["path"]).name for f in listed["files"])
    assert names == sorted(p.name for p in corpus.iterdir() if p.suffix in (".txt", ".md"))
    (root,) = listed["roots"]  # the folder, when the index last matched it, not being watched
    assert (root["path"], root["files"], root["watching"]) == (str(corpus), 4, False) and root["last_sync"]

    code, out, _ = run_cli(["index", str(corpus), "--json"], capsys)
    again = json.loads(out)
    assert (again["files_unchanged"], again["chunks_added"], again["chunks_removed"]) == (4, 0, 0)

    letter = corpus / "2025-03-20-lab-results.txt"
    code, out, _ = run_cli(["index", "--forget", str(letter), "--json"], capsys)
    assert code == 0 and json.loads(out)["forgotten"] == {"files": [str(letter)], "chunks_removed": 1}
    code, out, _ = run_cli(["index", "--list"], capsys)
    assert code == 0 and "3 file(s), 5 chunk(s)" in out and letter.name not in out

    code, out, _ = run_cli(["index", str(corpus)], capsys)  # human summary; the forgotten file comes back
    assert code == 0 and out.startswith("Indexed 1 file(s), 1 chunk(s) added")
    assert "1 x unsupported type .mp4" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["index"], "Nothing to index."),
        (["index", "--list", "somewhere"], "--list cannot be combined"),
        (["index", "/no/such/folder/at/all"], "No such file or folder: /no/such/folder/at/all"),
        (["index", "--forget", "/never/indexed"], "Nothing indexed at /never/indexed"),
        (["index", ".", "--max-size", "0"], "--max-size and --batch must be positive"),
        (["index", "--watch", "--forget", "/x"], "--watch needs folders to follow"),
        (["index", "--list", "--watch"], "--list cannot be combined"),
        (["index", ".", "--watch", "--debounce", "0"], "--debounce must be positive"),
    ],
)
def test_user_errors_have_a_next_step(
    initialized: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run_cli(args, capsys)
    assert code == 1 and out == ""
    assert message in err and "next step:" in err and "Traceback" not in err


def test_not_initialized_says_run_init(isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run_cli(["index", str(SAMPLES)], capsys)
    assert code == 1 and "assistant init" in err


def test_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["index", "--help"], capsys)
    assert code == 0 and "Example" in out and "--forget" in out and "--json" in out
