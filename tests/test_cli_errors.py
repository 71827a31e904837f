"""Bad input through the real CLI: a clear error and a next step, no traceback (unless --debug)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_cli_models import ROOT, assistant


def test_missing_gguf(tmp_path: Path) -> None:
    done = assistant("ask", "hi", "--no-remote", env={"ASSISTANT_MODEL": str(tmp_path / "nope.gguf")})
    assert done.returncode == 1
    assert "error: Model file not found" in done.stderr
    assert "next step:" in done.stderr and "Traceback" not in done.stderr


def test_corrupt_gguf(tmp_path: Path) -> None:
    bad = tmp_path / "random.gguf"
    bad.write_bytes(os.urandom(4096))
    done = assistant("ask", "hi", "--no-remote", env={"ASSISTANT_MODEL": str(bad)})
    assert done.returncode == 1
    assert "not a GGUF model file" in done.stderr and "Traceback" not in done.stderr


def test_unknown_model_name() -> None:
    done = assistant("ask", "hi", "--no-remote", env={"ASSISTANT_MODEL": "gpt-5-local"})
    assert done.returncode == 1
    assert "error: Unknown model 'gpt-5-local'" in done.stderr
    assert "llama-3.2-1b-instruct" in done.stderr and "Traceback" not in done.stderr


def test_known_model_not_pulled_yet() -> None:
    done = assistant("ask", "hi", "--no-remote", env={"ASSISTANT_MODEL": "llama-3.2-1b-instruct"})
    assert done.returncode == 1
    assert "assistant models pull llama-3.2-1b-instruct" in done.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    env = {"ASSISTANT_MODEL": str(tmp_path / "nope.gguf")}
    done = assistant("--debug", "ask", "hi", "--no-remote", env=env)
    assert done.returncode != 0
    assert "Traceback" in done.stderr and "ModelError" in done.stderr


@pytest.mark.slow
def test_ctrl_c_during_ask_exits_130_cleanly() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "ask", "Write a long story about the sea.", "--no-remote"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    first = proc.stdout.read(1)  # blocks until the answer starts streaming
    assert first, "no output before the interrupt"
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    try:
        rest, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    stderr = err.decode()
    assert proc.returncode == 130, stderr
    assert "Cancelled" in stderr
    assert "Traceback" not in stderr
    assert len(first + rest) < 4000  # it stopped: 512 tokens were allowed
