"""One error family for everything a user can act on: a title and the next step."""

from __future__ import annotations

import functools


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


def translate(exc: BaseException) -> AssistantError | None:
    """The app's error for `exc`: itself if already one, a title + next step for a library error.

    The one boundary where the libraries' errors (which know nothing of the app) gain the app's next
    steps (commands and settings); None for anything else, which stays a bug with a traceback.
    """
    if isinstance(exc, AssistantError):
        return exc
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):  # a setting from the environment
        first = exc.errors()[0]
        name = "ASSISTANT_" + "_".join(str(p) for p in first["loc"]).upper()
        step = "Fix or unset it (see the README's configuration table)."
        error = ConfigError(f"Invalid setting {name}: {first['msg']}", step)
        error.__cause__ = exc
        return error
    from encrypted_store import errors as se
    from models import errors as me

    if not isinstance(exc, (se.StoreError, me.ModelError)):
        return None
    for library_cls, (app_cls, next_step) in _library_table().items():
        if isinstance(exc, library_cls):
            model = getattr(exc, "model", "") or "NAME"
            step = next_step.format(model=model, hint=exc.hint) if next_step else exc.hint
            error = app_cls(exc.message, step)
            error.__cause__ = exc
            return error
    return None  # unreachable: the table ends with both base classes


@functools.cache
def _library_table() -> dict[type[Exception], tuple[type[AssistantError], str]]:
    """Library class -> (app class, next step), most specific first; "" keeps the library's hint."""
    from encrypted_store import errors as se
    from encrypted_store import verify as sv
    from models import errors as me

    return {
        se.NotInitialized: (ConfigError, "Run `assistant init`."),
        se.WrongPassphrase: (
            AuthError,
            "Try again (check ASSISTANT_PASSPHRASE), or point ASSISTANT_HOME at the right data dir.",
        ),
        se.TokenError: (AuthError, "Set ASSISTANT_STORE_TOKEN to the token `assistant store serve` printed."),
        se.TrustError: (
            StoreError,
            "Set ASSISTANT_STORE_CA_FILE to the PEM certificate the store server was started with.",
        ),
        se.UnreachableError: (
            StoreError,
            "Start it with `assistant store serve`, or unset ASSISTANT_STORE_URL to use the local store.",
        ),
        se.MismatchError: (StoreError, ""),
        sv.RollbackError: (StoreError, ""),
        sv.HostIntegrityError: (
            StoreError,
            "On your own disk: run `assistant store compact` (it rebuilds the block from the sealed "
            "records). On a remote host: stop using it and restore from your backup.",
        ),
        se.KeyfileError: (ConfigError, ""),
        se.AuthError: (AuthError, ""),
        se.InputError: (InputError, ""),
        se.StoreError: (StoreError, ""),
        me.ModelNotInstalled: (
            ModelError,
            "Run `assistant models pull {model}` (see `assistant models list`).",
        ),
        me.DownloadError: (ModelError, "{hint} (`assistant models pull {model}`)"),
        me.ModelFileMissing: (ModelError, "Check ASSISTANT_MODEL, or see `assistant models list`."),
        me.ModelConfigError: (ConfigError, ""),
        me.ModelError: (ModelError, ""),
    }
