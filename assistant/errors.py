"""One error family for everything a user can act on: a title and the next step."""

from __future__ import annotations


class AssistantError(Exception):
    """Base error: `title` says what went wrong, `next_step` what the user can do about it."""

    exit_code = 1

    def __init__(self, title: str, next_step: str = "") -> None:
        super().__init__(title)
        self.title = title
        self.next_step = next_step

    def __str__(self) -> str:
        return f"{self.title}\n  next step: {self.next_step}" if self.next_step else self.title


class ConfigError(AssistantError):
    """Settings or the data directory are missing or invalid."""


class ModelError(AssistantError):
    """A local model is unknown, missing, corrupt or failed while generating."""


class StoreError(AssistantError):
    """The encrypted store is missing, corrupt, tampered with or unreachable."""


class AuthError(AssistantError):
    """Wrong passphrase or bearer token."""


class RemoteError(AssistantError):
    """The remote planner failed or replied with something unusable."""


class InputError(AssistantError):
    """A file or argument the user gave cannot be used."""


class Cancelled(AssistantError):
    """The user stopped an operation; nothing is lost."""

    exit_code = 130

    def __init__(self, title: str = "Cancelled.", next_step: str = "") -> None:
        super().__init__(title, next_step)
