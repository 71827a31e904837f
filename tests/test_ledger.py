"""The ledger: sealed at rest, in order, tamper-evident; `assistant ledger` reads it back."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from assistant import wiring
from assistant.config import Settings
from assistant.errors import StoreError
from assistant.pipeline.ledger import FILENAME, Ledger
from encrypted_store import keys
from tests.helpers import FAST_KDF, run_cli

ROOT = Path(__file__).resolve().parents[1]


def ring() -> keys.Keyring:
    return keys.Keyring(master_key=os.urandom(32), ckks_secret=b"", ckks_params={})


def test_entries_round_trip_and_nothing_is_plain(tmp_path: Path) -> None:
    k = ring()
    ledger = Ledger(tmp_path, k)
    ledger.append("http://x/v1/chat/completions", '{"q": "secret-planner-body"}', "sent", reply="r1")
    ledger.append("http://x/v1/chat/completions", "body two", "refused", note="guard")
    raw = (tmp_path / FILENAME).read_bytes()
    assert b"secret-planner-body" not in raw and b"chat/completions" not in raw
    entries = Ledger(tmp_path, k).entries()
    assert [e.status for e in entries] == ["sent", "refused"]
    assert entries[0].body == '{"q": "secret-planner-body"}' and entries[0].reply == "r1"


def test_wrong_key_and_reordering_are_detected(tmp_path: Path) -> None:
    k = ring()
    ledger = Ledger(tmp_path, k)
    ledger.append("u", "first", "sent")
    ledger.append("u", "second", "sent")
    with pytest.raises(StoreError):
        Ledger(tmp_path, ring()).entries()
    data = (tmp_path / FILENAME).read_bytes()
    n = int.from_bytes(data[:4], "big")
    first, second = data[: 4 + n], data[4 + n :]
    (tmp_path / FILENAME).write_bytes(second + first)
    with pytest.raises(StoreError):
        ledger.entries()


def test_truncated_file_is_reported(tmp_path: Path) -> None:
    k = ring()
    Ledger(tmp_path, k).append("u", "body", "sent")
    path = tmp_path / FILENAME
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(StoreError, match="truncated"):
        Ledger(tmp_path, k).entries()


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("ledger", *args, env={"ASSISTANT_HOME": str(home), "ASSISTANT_PASSPHRASE": "ledger pass"})


def test_ledger_command_lists_entries(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = Settings(home=home)
    k = wiring.create_keys(settings, "ledger pass", kdf=FAST_KDF)
    empty = _cli(home)
    assert empty.returncode == 0 and "Nothing has left this device" in empty.stderr
    Ledger(home, k).append(
        "http://127.0.0.1:9/v1/chat/completions", '{"model": "m"}', "sent", note="HTTP 200"
    )
    listed = _cli(home, "--full")
    assert listed.returncode == 0 and "HTTP 200" in listed.stdout and '{"model": "m"}' in listed.stdout
    as_json = json.loads(_cli(home, "--json").stdout)
    assert as_json[0]["body"] == '{"model": "m"}' and as_json[0]["status"] == "sent"


def test_ledger_command_before_init_says_what_to_do(tmp_path: Path) -> None:
    done = _cli(tmp_path / "empty-home")
    assert done.returncode != 0 and "assistant init" in done.stderr and "Traceback" not in done.stderr
