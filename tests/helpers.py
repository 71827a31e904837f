"""Helpers shared by the tests (and by nothing else): one copy of each, imported from here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# real argon2id, test-sized: the KDF's cost is not under test (keys.DEFAULT_KDF is what users get)
FAST_KDF = {"time_cost": 1, "memory_kib": 8192, "parallelism": 1}


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """`assistant ARGS...` in a subprocess, as a user runs it (this checkout's code, the test's env)."""
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
