"""The store library's own error family: a message and, optionally, a library-level hint.

The application translates these into its own errors (title + next step) at its boundary; nothing here
knows about the application, its command line or its settings.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base: the store is missing, corrupt, mismatched or unreachable."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class AuthError(StoreError):
    """A wrong or empty passphrase, or a bearer token the server refuses."""


class KeyfileError(StoreError):
    """The key file is missing, unreadable, or already exists where a new one was asked for."""


class NotInitialized(KeyfileError):
    """There is no key file yet."""


class TamperError(StoreError):
    """A sealed item or stored record failed its integrity check."""


class InputError(StoreError):
    """An argument the caller gave cannot be used (wrong shape, dimension, empty query...)."""


class UnreachableError(StoreError):
    """The store server cannot be reached or answered with something unusable."""


class TrustError(UnreachableError):
    """An https store server whose certificate this client does not trust, or an unusable CA file."""


class WrongPassphrase(AuthError):
    """The passphrase does not unlock this key file."""


class TokenError(AuthError):
    """No bearer token, or one the store server refuses."""


class MismatchError(StoreError):
    """The store belongs to other keys, or holds vectors of another dimension or embedder."""
