"""The Textual app (`assistant chat`): the only package that imports textual."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.errors import ConfigError

if TYPE_CHECKING:
    from assistant.config import Settings
    from models.base import SamplingParams


def run(settings: Settings, params: SamplingParams | None = None) -> None:
    """Run the app in the terminal until the user quits."""
    try:
        from assistant.tui.app import AssistantApp
    except ImportError as exc:
        if exc.name is None or not exc.name.startswith("textual"):
            raise
        raise ConfigError(
            "The chat app needs textual, which is not installed.",
            "Install it: pip install 'private-assistant[tui]'.",
        ) from exc
    AssistantApp(settings, params=params).run()
