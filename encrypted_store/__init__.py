"""Homomorphically encrypted vector store: keys, CKKS scan, SQLite layout, server and client."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.config import Settings
    from encrypted_store.keys import Keyring
    from encrypted_store.store import EncryptedStore


def open_store(settings: Settings, keyring: Keyring, dim: int | None = None) -> EncryptedStore:
    """The store for these settings: the server at settings.store_url, else embedded in the data dir.

    `dim` is the embedder's dimension: a new store takes it (default 384), an existing one must match.
    """
    from encrypted_store.host import StoreHost
    from encrypted_store.store import EncryptedStore

    host: StoreHost
    if settings.store_url:
        from encrypted_store.client import HttpHost

        token = settings.store_token.get_secret_value() if settings.store_token else None
        host = HttpHost(settings.store_url, token)
    else:
        from encrypted_store.backend import LocalHost

        host = LocalHost(settings.store_path, settings.threads)
    try:
        # the newest store state this data dir has seen: a host cannot roll back below it
        return EncryptedStore(host, keyring, dim, state_path=settings.home / "store-state.sealed")
    except BaseException:
        host.close()
        raise
