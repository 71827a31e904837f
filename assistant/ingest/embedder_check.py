"""The embedder's fingerprint, sealed in the index's manifest: recorded when indexing, checked on query.

A different model of the same dimension would otherwise return confident garbage; a mismatch is an
error that names both models and the next step. The entry is sealed like every manifest entry, so the
store host learns nothing of which model was used.
"""

from __future__ import annotations

from typing import Any

from assistant.errors import ConfigError

EMBEDDER_KEY = "indexer/embedder"  # manifest key (sealed); its value has no "path" of a file


def stored(store: Any) -> dict[str, Any] | None:
    """The fingerprint the index was built with, or None (an empty index, or one from before this check)."""
    value = store.manifest_get_all().get(EMBEDDER_KEY)
    return dict(value["embedder"]) if isinstance(value, dict) and "embedder" in value else None


def remember(store: Any, embedder: Any) -> None:
    """Record `embedder`'s fingerprint (before its first vector is written), or refuse a different one."""
    current = _fingerprint(embedder)
    if current is None:
        return
    check(store, embedder)
    store.manifest_put(EMBEDDER_KEY, {"embedder": current})


def check(store: Any, embedder: Any) -> None:
    """Raise ConfigError when the index was built with another embedding model than `embedder`."""
    current = _fingerprint(embedder)
    before = stored(store)
    if current is None or before is None or before.get("sha256") == current["sha256"]:
        return
    if before.get("path"):
        step = f"Set ASSISTANT_EMBED_MODEL={before['path']} (or unset it), or re-index into a new data dir."
    else:
        step = f"Unset ASSISTANT_EMBED_MODEL (the index uses the bundled {before.get('name')}), or re-index."
    raise ConfigError(
        f"The index was built with the embedding model {before.get('name')!r} ({before.get('dim')} dims); "
        f"the configured one is {current['name']!r} ({current['dim']} dims), whose vectors do not match.",
        step,
    )


def _fingerprint(embedder: Any) -> dict[str, Any] | None:
    make = getattr(embedder, "fingerprint", None)
    return dict(make()) if callable(make) else None  # stand-in embedders without one are not checked
