"""Unlocking for CLI commands: the passphrase from ASSISTANT_PASSPHRASE or a hidden prompt."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from assistant.config import Settings
from assistant.errors import AuthError

if TYPE_CHECKING:
    from encrypted_store.keys import Keyring


def passphrase(settings: Settings, *, prompt: str = "Passphrase", confirm: bool = False) -> str:
    """ASSISTANT_PASSPHRASE when set, else a hidden prompt (refused when stdin is not a terminal)."""
    if settings.passphrase is not None:
        return settings.passphrase.get_secret_value()
    if not click.get_text_stream("stdin").isatty():
        raise AuthError(
            "A passphrase is needed and there is no terminal to ask for it.",
            "Set ASSISTANT_PASSPHRASE, or run the command in a terminal.",
        )
    value: str = click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    return value


def store_recorder(settings: Settings, keyring: Keyring) -> Callable[[Any], None]:
    """The ledger's callback for store-server requests (`open_store(..., recorder=...)`)."""
    from assistant.pipeline.ledger import Ledger

    return Ledger(settings.home, keyring).record_store


def open_keyring(settings: Settings) -> Keyring:
    """Unlock the data dir's keys; a missing key file fails before the passphrase is asked for."""
    from assistant.core import unlock

    return unlock(settings, lambda: passphrase(settings))
