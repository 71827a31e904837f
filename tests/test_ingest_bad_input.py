"""Bad input never stops a run: each bad file is skipped with a reason the user can act on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from assistant.embedding import Embedder
from assistant.errors import InputError
from assistant.ingest.discover import discover, read_bytes
from assistant.ingest.indexer import IndexOptions, index_paths
from assistant.ingest.readers import SkipFile, read_document
from assistant.ingest.types import Skipped
from tests.fixtures.ingest.helpers import open_real_store

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
REPO = Path(__file__).parent.parent


def skip_reason(path: Path) -> str:
    with pytest.raises(SkipFile) as info:
        read_document(path, path.read_bytes())
    return info.value.reason


def test_broken_pdfs(tmp_path: Path) -> None:
    good = (FIXTURES / "letter.pdf").read_bytes()
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(good[: len(good) // 3])
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.7\n" + os.urandom(2000))
    not_pdf = tmp_path / "renamed.pdf"
    not_pdf.write_bytes(b"PK\x03\x04 this is a zip")
    for path in (truncated, garbage):
        try:
            doc = read_document(path, path.read_bytes())
        except SkipFile as exc:
            assert exc.reason.startswith(("unreadable PDF", "no text in PDF")), exc.reason
        else:  # pypdf recovered part of it: whatever came out is real text from the file
            assert all("Riverside" in s.text or "Levothyroxine" in s.text for s in doc.sections)
    assert skip_reason(not_pdf) == "not a PDF file (no %PDF header)"


def test_invalid_utf8_is_read_with_replacements(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    # UTF-8 text with one corrupt spot: kept as UTF-8, the bad bytes replaced
    path.write_bytes("Caf\u00e9 notes. ".encode() * 50 + b"Dose: 88 micrograms \xff\xfe daily.\n")
    text = read_document(path, path.read_bytes()).sections[0].text
    assert text.startswith("Café notes.")
    assert "88 micrograms \ufffd\ufffd daily." in text


def test_legacy_cp1252_text_falls_back(tmp_path: Path) -> None:
    path = tmp_path / "old.txt"
    path.write_bytes(
        "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u2013 pr\u00e9cis, d\u00e9j\u00e0 vu. ".encode("cp1252") * 10
    )
    assert "Café naïve résumé – précis" in read_document(path, path.read_bytes()).sections[0].text


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\n\t\n", "empty file"),
        ("nul.txt", b"abc\x00def" * 100, "binary file"),
        (
            "bad.json",
            b'{"a": 1,',
            "invalid JSON: Expecting property name enclosed in double quotes at line 1",
        ),
        ("bad.docx", b"not a zip at all", "unreadable Word document (not a valid .docx package)"),
        ("bad.ics", b"BEGIN:VCALENDAR\nthis is not ical\n", "invalid calendar"),
        ("none.vcf", b"just text", "no contacts (no BEGIN:VCARD ... END:VCARD)"),
        (
            "nothing.eml",
            b"hello\n\nno headers here",
            "not an e-mail message (no From/To/Date/Subject header)",
        ),
    ],
)
def test_bad_files_skip_with_reason(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert skip_reason(path).startswith(reason)


def test_huge_sparse_file_is_skipped_without_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with open(path, "wb") as fh:
        fh.truncate(20 * 1024**3)  # 20 GiB, no blocks on disk
    started = time.perf_counter()
    result = read_bytes(str(path), max_bytes=1024 * 1024)
    assert isinstance(result, Skipped)
    assert result.reason == "too large (20480.0 MiB > limit 1.0 MiB)"
    assert time.perf_counter() - started < 1.0


def test_symlink_loops_are_reported_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.txt").write_text("real file")
    (root / "sub" / "back").symlink_to(root, target_is_directory=True)  # folder loop
    (root / "x.txt").symlink_to(root / "y.txt")
    (root / "y.txt").symlink_to(root / "x.txt")  # file loop
    found = list(discover([str(root)]))
    skipped = {Path(s.path).name: s.reason for s in found if isinstance(s, Skipped)}
    assert skipped == {
        "back": "symlink loop (links back to a folder above it)",
        "x.txt": "symlink loop",
        "y.txt": "symlink loop",
    }
    assert [Path(c.path).name for c in found if not isinstance(c, Skipped)] == ["a.txt"]


def test_fifo_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.extend(discover([str(tmp_path)])), daemon=True)
    worker.start()
    worker.join(5)
    assert result == [Skipped(str(fifo), "not a regular file")]
    assert read_bytes(str(fifo)) == Skipped(str(fifo), "not a regular file")


UNREADABLE_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from assistant.ingest.discover import read_bytes
    if os.geteuid() == 0:  # root reads any file: drop to `nobody` so permissions apply for real
        os.setgid(65534)
        os.setuid(65534)
    out = {name: read_bytes(os.path.join(sys.argv[1], name)) for name in ("locked.txt", "open.txt")}
    print(json.dumps({k: v.reason if hasattr(v, "reason") else v.decode() for k, v in out.items()}))
    """
)


def test_unreadable_file_is_skipped_with_permission_reason() -> None:
    # tmp_path's parents are private to root; this folder must be reachable by `nobody`
    folder = Path(tempfile.mkdtemp(prefix="ingest-perm-", dir="/tmp"))
    try:
        folder.chmod(0o755)
        (folder / "locked.txt").write_text("secret")
        (folder / "locked.txt").chmod(0o000)
        (folder / "open.txt").write_text("readable")
        (folder / "open.txt").chmod(0o644)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.run(
            [sys.executable, "-c", UNREADABLE_SCRIPT, str(folder)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        # the control file proves the process could reach the folder: only the mode blocks locked.txt
        assert json.loads(proc.stdout) == {
            "locked.txt": "unreadable: permission denied",
            "open.txt": "readable",
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_whole_run_reports_every_skip_and_indexes_nothing_bad(tmp_path: Path, isolated_home: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(100))
    (folder / "blob.md").write_bytes(os.urandom(500) + b"\x00")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<")
    (folder / ".hidden.txt").write_text("never looked at")
    with open(folder / "huge.txt", "wb") as fh:
        fh.truncate(3 * 1024**3)
    _settings, keyring, store = open_real_store(isolated_home)
    try:
        summary = index_paths(
            [str(folder)], store, Embedder(), keyring, options=IndexOptions(max_bytes=10_000)
        )
        reasons = {Path(s.path).name: s.reason for s in summary.skipped}
        assert set(reasons) == {"empty.txt", "photo.jpg", "blob.md", "broken.pdf", "huge.txt"}
        assert reasons["photo.jpg"].startswith("unreadable image")  # a corrupt scan: a skip, not a crash
        assert reasons["empty.txt"] == "empty file"
        assert reasons["blob.md"] == "binary file"
        assert reasons["huge.txt"].startswith("too large")
        assert summary.files_seen == 5
        assert (summary.files_indexed, summary.chunks_added, store.count()) == (0, 0, 0)
        assert summary.to_json()["files_skipped"] == 5
    finally:
        store.close()


def test_missing_path_is_an_input_error(isolated_home: Path, tmp_path: Path) -> None:
    _settings, keyring, store = open_real_store(isolated_home)
    try:
        with pytest.raises(InputError, match="No such file or folder"):
            index_paths([str(tmp_path / "nope")], store, Embedder(), keyring)
    finally:
        store.close()
