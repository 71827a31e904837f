"""The one place the app turns its Settings into the plain values the libraries take.

`encrypted_store` and `models` never see Settings; every front-end (CLI, terminal app, benches) opens
keys, stores and models through these functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from assistant.config import Settings

if TYPE_CHECKING:
    from assistant.embedding import Embedder
    from encrypted_store.keys import Keyring
    from encrypted_store.store import EncryptedStore
    from models.base import ChatModel
    from models.registry import ModelOptions, ResolvedModel


STORE_STATE = "store-state.sealed"  # the newest store state this data dir has seen (rollback checks)


def is_initialized(settings: Settings) -> bool:
    from encrypted_store import keys

    return keys.is_initialized(settings.keyfile)


def create_keys(settings: Settings, passphrase: str, *, kdf: dict[str, int] | None = None) -> Keyring:
    from encrypted_store import keys

    return keys.create_keys(settings.keyfile, passphrase, kdf=kdf)


def read_keyfile(settings: Settings) -> dict[str, Any]:
    """The key file's sealed document: fails with "not initialized" before any passphrase is asked."""
    from encrypted_store import keys

    return keys.read_keyfile(settings.keyfile)


def unlock(settings: Settings, passphrase: str | Callable[[], str]) -> Keyring:
    """Unlock the data dir's keys; a callable passphrase is asked only once the key file checks out."""
    from encrypted_store import keys

    return keys.unlock(settings.keyfile, passphrase)


def change_passphrase(settings: Settings, old: str, new: str) -> Keyring:
    from encrypted_store import keys

    return keys.change_passphrase(settings.keyfile, old, new)


def open_store(
    settings: Settings, keyring: Keyring, dim: int | None = None, recorder: Callable[..., None] | None = None
) -> EncryptedStore:
    """The store server at ASSISTANT_STORE_URL when set, else the store embedded in the data dir.

    `recorder` sees every request to a store server (the ledger records them)."""
    from encrypted_store import open_store as open_library_store

    token = settings.store_token.get_secret_value() if settings.store_token else None
    return open_library_store(
        keyring,
        path=settings.store_path,
        url=settings.store_url,
        token=token,
        threads=settings.threads,
        dim=dim,
        ca_file=settings.store_ca_file,
        recorder=recorder,
        state_path=settings.home / STORE_STATE,
    )


def embedder(settings: Settings, *, store: Any = None, **kwargs: Any) -> Embedder:
    """The embedder ASSISTANT_EMBED_MODEL names, else the one `store`'s index remembers (`index
    --embed-model`), else the bundled one; on ASSISTANT_THREADS threads."""
    from assistant.embedding import Embedder

    path = settings.embed_model
    if path is None and store is not None:
        from assistant.ingest import embedder_check

        path = (embedder_check.stored(store) or {}).get("path") or None
    return Embedder(path, threads=settings.threads, **kwargs)


def model_options(settings: Settings) -> ModelOptions:
    from models.registry import ModelOptions

    return ModelOptions(
        spec=settings.model,
        models_dir=settings.models_dir,
        backend=settings.backend,
        threads=settings.threads,
        n_ctx=settings.n_ctx,
        kv_budget=settings.kv_budget,
        kv_policy=settings.kv_policy,
    )


def resolve_model(settings: Settings) -> ResolvedModel:
    from models.registry import resolve

    return resolve(model_options(settings))


def load_model(settings: Settings, **kwargs: object) -> ChatModel:
    """Open the configured model (ASSISTANT_MODEL, ASSISTANT_BACKEND, KV settings)."""
    from models.registry import load_model as load_library_model

    return load_library_model(model_options(settings), **kwargs)
