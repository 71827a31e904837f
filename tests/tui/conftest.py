"""Helpers for the app tests: a real keyring, an app factory, and `wait_until` instead of sleeps."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

import pytest

from assistant.config import Settings, load_settings
from assistant.wiring import create_keys
from encrypted_store.keys import Keyring
from tests.helpers import FAST_KDF

PASSPHRASE = "correct horse battery"


@pytest.fixture
def settings() -> Settings:
    return load_settings()


@pytest.fixture
def ring() -> Keyring:
    """The real Keyring class around a fresh random master key (no passphrase round trip)."""
    return Keyring(master_key=os.urandom(32), ckks_secret=b"")


@pytest.fixture
def fake_model() -> Any:
    """A FakeChatModel (scripted, no weights) for tests of the app's logic, not of the model."""
    from tests.fake_model import FakeChatModel

    return FakeChatModel()


@pytest.fixture
def keyfile(settings: Settings) -> Keyring:
    """A real key file under the test's ASSISTANT_HOME, unlocked by PASSPHRASE."""
    return create_keys(settings, PASSPHRASE, kdf=FAST_KDF)


async def wait_until(pilot: Any, condition: Callable[[], object], timeout: float = 60.0) -> None:
    """Let the app run until `condition()` holds; fail with a clear message after `timeout` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {condition}")
        await pilot.pause(0.05)


async def type_text(pilot: Any, text: str) -> None:
    await pilot.press(*["space" if ch == " " else ch for ch in text])
