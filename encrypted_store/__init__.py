"""Homomorphically encrypted vector store: keys, CKKS scan, SQLite layout, server and client."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.config import Settings
    from encrypted_store.client import StoreRequest
    from encrypted_store.keys import Keyring
    from encrypted_store.store import EncryptedStore


def open_store(
    settings: Settings,
    keyring: Keyring,
    dim: int | None = None,
    recorder: Callable[[StoreRequest], None] | None = None,
) -> EncryptedStore:
    """The store for these settings: the server at settings.store_url, else embedded in the data dir.

    `dim` is the embedder's dimension: a new store takes it (default 384), an existing one must match.
    `recorder` sees every request to a store server (method, size, digest); unused when embedded.
    """
    from encrypted_store.store import EncryptedStore

    if settings.store_url:
        from encrypted_store.client import HttpBackend

        token = settings.store_token.get_secret_value() if settings.store_token else None
        backend = HttpBackend(settings.store_url, token, ca_file=settings.store_ca_file, recorder=recorder)
    else:
        from encrypted_store.backend import LocalBackend

        backend = LocalBackend(settings.store_path, settings.threads)
    try:
        return EncryptedStore(backend, keyring, dim)
    except BaseException:
        backend.close()
        raise
