"""The data dir is 0700 and every file in it 0600, also when it existed before; exports are 0600."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from assistant.conversations import Conversation, ConversationStore, Turn
from assistant.datadir import secure_home
from encrypted_store import keys
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes(home: Path) -> dict[str, int]:
    out = {".": mode(home)}
    for p in home.rglob("*"):
        if not p.is_symlink():
            out[str(p.relative_to(home))] = mode(p)
    return out


def loose_home(home: Path) -> None:
    (home / "conversations").mkdir(parents=True)
    (home / "models").mkdir()
    for name in ("notes.txt", "conversations/0123456789abcdef.conv", "models/x.gguf"):
        (home / name).write_bytes(b"x")
        os.chmod(home / name, 0o644)
    for folder in (home, home / "conversations", home / "models"):
        os.chmod(folder, 0o755)


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env={"ASSISTANT_HOME": str(home), "ASSISTANT_PASSPHRASE": "perm pass"})


def test_init_tightens_a_data_dir_that_existed_with_loose_modes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    loose_home(home)
    assert set(modes(home).values()) == {0o755, 0o644}  # control: the check below can fail
    done = _run(home, "init")
    assert done.returncode == 0, done.stderr
    found = modes(home)
    assert "keys.json" in found
    assert {k: v for k, v in found.items() if (home / k).is_dir() or k == "."} == {
        ".": 0o700,
        "conversations": 0o700,
        "models": 0o700,
    }
    assert {v for k, v in found.items() if not (home / k).is_dir() and k != "."} == {0o600}


def test_files_created_later_by_the_cli_are_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert _run(home, "init").returncode == 0
    os.chmod(home, 0o755)  # loosened after init: the next unlock tightens it again
    (home / "later.txt").write_bytes(b"x")
    os.chmod(home / "later.txt", 0o644)
    done = _run(home, "store", "info", "--json")  # unlocks, creates store.db
    assert done.returncode == 0, done.stderr
    found = modes(home)
    assert "store.db" in found and found["."] == 0o700
    assert {v for k, v in found.items() if k != "."} == {0o600}, found


def test_secure_home_leaves_symlinks_and_reports_changes(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"not ours")
    os.chmod(outside, 0o644)
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    (home / "link").symlink_to(outside)
    assert secure_home(home) == [home]
    assert mode(outside) == 0o644 and secure_home(home) == []


def test_export_is_written_owner_only_even_over_a_loose_file(tmp_path: Path) -> None:
    ring = keys.Keyring(master_key=os.urandom(32), ckks_secret=b"")
    convs = ConversationStore(tmp_path / "home" / "conversations", ring)
    conv = Conversation()
    conv.add(Turn(question="What did Dr Okafor prescribe?", answer="levothyroxine"))
    convs.save(conv)
    assert mode(convs.directory / f"{conv.id}.conv") == 0o600
    dest = tmp_path / "export.md"
    dest.write_text("old")
    os.chmod(dest, 0o644)
    out = convs.export_markdown(conv.id, dest)
    assert "levothyroxine" in out.read_text() and mode(out) == 0o600
    fresh = convs.export_markdown(conv.id, tmp_path)
    assert fresh.parent == tmp_path and mode(fresh) == 0o600
