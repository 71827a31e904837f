"""Homomorphically encrypted vector store: keys, CKKS scan, SQLite layout, server and client."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from encrypted_store.client import StoreRequest
    from encrypted_store.keys import Keyring
    from encrypted_store.store import EncryptedStore


def open_store(
    keyring: Keyring,
    *,
    path: Path | None = None,
    url: str | None = None,
    token: str | None = None,
    threads: int | None = None,
    dim: int | None = None,
    ca_file: Path | None = None,
    recorder: Callable[[StoreRequest], None] | None = None,
    state_path: Path | None = None,
) -> EncryptedStore:
    """The store at the server `url` (with its bearer `token`) when given, else embedded at `path`.

    `dim` is the embedder's dimension: a new store takes it (default 384), an existing one must match.
    `threads` is the scan's thread count for an embedded store (None: all cores). For a server:
    `ca_file` is the PEM bundle trusted for https, `recorder` sees every request (method, size,
    digest). `state_path`: where the client keeps the newest sealed store state it has seen, so a
    host cannot roll the store back below it (None: this process only).
    """
    from encrypted_store.host import StoreHost
    from encrypted_store.store import EncryptedStore

    host: StoreHost
    if url:
        from encrypted_store.client import HttpHost

        host = HttpHost(url, token, ca_file=ca_file, recorder=recorder)
    else:
        if path is None:
            from encrypted_store.errors import InputError

            raise InputError("No store given: neither a path nor a server URL.", "Pass one of them.")
        from encrypted_store.backend import LocalHost

        host = LocalHost(path, threads)
    try:
        # the newest store state this data dir has seen: a host cannot roll back below it
        return EncryptedStore(host, keyring, dim, state_path=state_path)
    except BaseException:
        host.close()
        raise
