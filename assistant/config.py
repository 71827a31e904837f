"""Settings: one object read once from the environment (ASSISTANT_*) and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from platformdirs import user_data_dir
from pydantic import AfterValidator, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _check_kv_policy(value: str) -> str:
    from models.eviction.methods import METHODS

    if value not in METHODS:
        raise ValueError(f"unknown KV policy {value!r}; ASSISTANT_KV_POLICY is one of {', '.join(METHODS)}")
    return value


KVPolicy = Annotated[str, AfterValidator(_check_kv_policy)]  # a name in models.eviction.METHODS


class Settings(BaseSettings):
    """Everything configurable; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path(user_data_dir("private-assistant")))
    passphrase: SecretStr | None = None
    remote_url: str | None = None
    remote_model: str = "gpt-4o-mini"
    remote_api_key: SecretStr | None = None
    remote_timeout_s: float = 30.0
    model: str | None = None
    store_url: str | None = None
    store_token: SecretStr | None = None
    # encrypt the search vectors too, so the store host does not learn them (about 2.5x the search time);
    # None: encrypted exactly when the store is remote (a plaintext query to a remote store is refused)
    encrypted_query: bool | None = None
    threads: int | None = None
    n_ctx: int = 4096
    backend: str = "llamacpp"
    embed_model: str | None = None  # sentence-transformers folder; None = the bundled all-MiniLM-L6-v2
    private_terms: list[str] = Field(default_factory=list)
    # KV-cache eviction for long conversations (PagedEviction): tokens kept per sequence; None = off
    kv_budget: int | None = None
    kv_policy: KVPolicy = "paged"  # paged | inverse_key | streaming | context_shift | none
    # PEM certificate(s) the store client trusts for an https:// store URL (e.g. a self-signed server)
    store_ca_file: Path | None = None
    # Retrieval: "hybrid" = dense search fused with on-device BM25 over sealed term counts; "dense"
    retrieval: Literal["hybrid", "dense"] = "hybrid"
    retrieval_per_doc: int = Field(default=2, ge=1)  # at most this many chunks of one file among the sources
    # Answer latency (issue 19): tokens of record passages in the answer prompt (0 = whole records, the
    # old prompt); when the local model plans (auto = only where measured to help; see docs/PIPELINE.md)
    context_tokens: int = 180
    local_plan: Literal["auto", "always", "never"] = "auto"

    @field_validator("remote_url", "store_url", "model", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("home", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def keyfile(self) -> Path:
        return self.home / "keys.json"

    @property
    def store_path(self) -> Path:
        return self.home / "store.db"

    @property
    def remote_enabled(self) -> bool:
        return self.remote_url is not None


def load_settings(**overrides: object) -> Settings:
    """Read the environment now (never at import time); keyword arguments win."""
    return Settings(**overrides)  # type: ignore[arg-type]
