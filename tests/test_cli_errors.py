"""Bad input through the real CLI: a clear error and a next step, no traceback (unless --debug)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.helpers import run_cli as assistant


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


@pytest.mark.parametrize("kind", ["magic-then-noise", "truncated-header", "truncated-weights"])
def test_damaged_gguf_is_an_error_not_a_crash(kind: str, tmp_path: Path, bundled_gguf: Path) -> None:
    """llama.cpp must refuse these cleanly: the CLI process survives and explains (no signal exit)."""
    real = bundled_gguf.read_bytes()
    content = {
        "magic-then-noise": b"GGUF" + os.urandom(100_000),
        "truncated-header": real[:3000],
        "truncated-weights": real[:-1000],
    }[kind]
    bad = tmp_path / "damaged.gguf"
    bad.write_bytes(content)
    done = assistant("ask", "hi", "--no-remote", env={"ASSISTANT_MODEL": str(bad)})
    assert done.returncode == 1, done.stderr
    assert "could not load damaged.gguf" in done.stderr
    assert "download it again" in done.stderr and "Traceback" not in done.stderr


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
    assert "Traceback" in done.stderr and "models.errors.ModelFileMissing" in done.stderr


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
