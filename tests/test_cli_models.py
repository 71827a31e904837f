"""`assistant models list / pull / bench` as a user runs them: the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from models.catalog import BUNDLED_NAME, find
from tests.helpers import ROOT, run_cli
from tests.hub_standin import HubStandIn

LLAMA = find("llama-3.2-1b-instruct")
assert LLAMA is not None


assistant = run_cli


def test_list_shows_the_catalog_and_the_active_bundled_model() -> None:
    done = assistant("models", "list", "--json")
    assert done.returncode == 0, done.stderr
    rows = {r["name"]: r for r in json.loads(done.stdout)}
    assert rows["llama-3.2-1b-instruct"]["status"] == "not downloaded"
    assert rows["llama-3.2-1b-instruct"]["recommended"] is True
    assert rows[BUNDLED_NAME]["status"] == "bundled" and rows[BUNDLED_NAME]["active"] is True
    assert rows[BUNDLED_NAME]["size_bytes"] > 90_000_000
    assert [r["name"] for r in rows.values() if r["active"]] == [BUNDLED_NAME]
    table = assistant("models", "list")
    assert table.returncode == 0
    assert "llama-3.2-1b-instruct" in table.stdout and "bundled" in table.stdout


def test_list_reports_an_unusable_active_model_without_failing() -> None:
    done = assistant("models", "list", env={"ASSISTANT_MODEL": "qwen2.5-1.5b-instruct"})
    assert done.returncode == 0
    assert "not downloaded yet" in done.stderr
    assert "assistant models pull qwen2.5-1.5b-instruct" in done.stderr


def test_pull_through_a_hub_stand_in_then_list(isolated_home: Path) -> None:
    payload = b"GGUF" + os.urandom(3 * 1024 * 1024)
    with HubStandIn({(LLAMA.repo_id, LLAMA.filename): payload}) as hub:
        env = {"HF_ENDPOINT": hub.endpoint, "HF_HUB_OFFLINE": "0"}
        done = assistant("models", "pull", "llama-3.2-1b-instruct", env=env)
    assert done.returncode == 0, done.stderr
    assert "sha256 ok" in done.stdout
    assert "100%" in done.stderr  # the progress bar ran
    installed = isolated_home / "models" / LLAMA.filename
    assert installed.read_bytes() == payload
    rows = {r["name"]: r for r in json.loads(assistant("models", "list", "--json").stdout)}
    assert rows["llama-3.2-1b-instruct"]["status"] == "installed"
    assert rows["llama-3.2-1b-instruct"]["active"] is True  # an installed model wins over the bundled one
    assert rows["llama-3.2-1b-instruct"]["size_bytes"] == len(payload)


def test_pull_with_the_hub_down_explains_the_next_step() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"HF_ENDPOINT": f"http://127.0.0.1:{port}", "HF_HUB_OFFLINE": "0"}
    done = assistant("models", "pull", "llama-3.2-1b-instruct", env=env)
    assert done.returncode == 1
    assert "error: Cannot reach the model hub" in done.stderr
    assert "next step:" in done.stderr and "assistant models pull llama-3.2-1b-instruct" in done.stderr
    assert "Traceback" not in done.stderr


def test_pull_offline_and_unknown_names() -> None:
    done = assistant("models", "pull", "llama-3.2-1b-instruct", env={"HF_HUB_OFFLINE": "1"})
    assert done.returncode == 1 and "HF_HUB_OFFLINE" in done.stderr
    done = assistant("models", "pull", "gpt-5")
    assert done.returncode == 1 and "Unknown model 'gpt-5'" in done.stderr
    assert "llama-3.2-1b-instruct" in done.stderr  # the next step names what can be pulled
    done = assistant("models", "pull", BUNDLED_NAME)
    assert done.returncode == 0 and "nothing to download" in done.stderr


@pytest.mark.slow
def test_bench_json_measures_the_active_model() -> None:
    done = assistant("models", "bench", "--json", "--runs", "1", "--max-tokens", "8")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["model"] == BUNDLED_NAME and result["backend"] == "llamacpp"
    assert result["prompt_tps"] > 0 and result["generation_tps"] > 0
    assert result["prompt_tokens"] > 100  # the benchmark prompt is a realistic size
    assert result["runs"] == 1


def test_list_shows_partial_downloads_and_files_dropped_in_by_hand(isolated_home: Path) -> None:
    from assistant.cli.models_cmd import model_rows
    from assistant.config import load_settings

    models_dir = isolated_home / "models"
    models_dir.mkdir(parents=True)
    (models_dir / (LLAMA.filename + ".part")).write_bytes(b"GGUF partial")
    (models_dir / "my-own-model.gguf").write_bytes(b"GGUF" + bytes(100))
    rows, problem = model_rows(load_settings())
    by_name = {r.name: r for r in rows}
    assert problem is None
    assert by_name["llama-3.2-1b-instruct"].status == "partial download"
    assert by_name["my-own-model"].status == "local file" and by_name["my-own-model"].size_bytes == 104
    assert by_name[BUNDLED_NAME].active  # neither a partial file nor an unknown file is picked


@pytest.mark.slow
def test_ctrl_c_during_pull_keeps_the_partial_file_for_the_next_run(isolated_home: Path) -> None:
    payload = b"GGUF" + os.urandom(12 * 1024 * 1024)  # more than http_get's 10 MB write chunk
    part = isolated_home / "models" / (LLAMA.filename + ".part")
    with HubStandIn({(LLAMA.repo_id, LLAMA.filename): payload}) as hub:
        hub.faults = [("stall", 11 * 1024 * 1024)]
        env = {**os.environ, "HF_ENDPOINT": hub.endpoint, "HF_HUB_OFFLINE": "0"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "models", "pull", "llama-3.2-1b-instruct", "--quiet"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not (part.exists() and part.stat().st_size > 0) and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        assert "Download paused" in err and "again to resume" in err and "Traceback" not in err
        kept = part.stat().st_size
        assert kept > 0
        again = assistant("models", "pull", "llama-3.2-1b-instruct", "--quiet", env=env)
    assert again.returncode == 0, again.stderr
    assert f"resumed at {kept / 2**20:,.1f} MiB" in again.stdout
    assert (isolated_home / "models" / LLAMA.filename).read_bytes() == payload
