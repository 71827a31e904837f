"""What a file watcher reports, applied to the index: created, edited, renamed and deleted paths.

The same per-file path as `indexer.index_paths` (one `IndexRun`, journaled batches, renames matched by
content), limited to the changed paths; used by `assistant.ingest.watch`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from assistant.errors import Cancelled
from assistant.ingest import manifest
from assistant.ingest.discover import hidden_under, normalize
from assistant.ingest.indexer import (
    CancelLike,
    EmbedderLike,
    IndexOptions,
    IndexProgress,
    IndexRun,
    IndexSummary,
)
from assistant.ingest.manifest import KeyringLike
from encrypted_store.api import Store


def apply_changes(
    changed: Sequence[str],
    roots: Sequence[str],
    store: Store,
    embedder: EmbedderLike,
    keyring: KeyringLike,
    *,
    options: IndexOptions | None = None,
    progress: Callable[[IndexProgress], None] | None = None,
    cancel: CancelLike | None = None,
    vocabulary: Any = None,
) -> IndexSummary:
    """Bring the index in line with `changed` paths under `roots`: files or folders created, edited,
    renamed or deleted (what a file watcher reports). Paths that still exist are indexed as
    `index_paths` would; indexed files at or under a changed path that is gone are removed, or moved
    when a new path has their content. Removals go into the journaled batches.

    Raises:
        Cancelled: `cancel` was set; what was stored so far is consistent (the rest waits for the
            next run). StoreError, ModelError: from the store or the embedder.
    """
    run = IndexRun(store, embedder, keyring, options or IndexOptions(), progress, cancel, vocabulary)
    summary = run.summary
    known = manifest.load(store)
    summary.files_recovered, summary.chunks_removed = manifest.recover(store, known)
    scope = _outermost(
        p for p in map(normalize, changed) if manifest.under(p, roots) and not hidden_under(p, roots)
    )
    stopped = Cancelled("Watching stopped.", "Index the folder again to pick up what changed since.")
    live = run.read_all([p for p in scope if os.path.lexists(p)], known, scope, stopped)
    run.gone = [
        e
        for e in known.values()
        if e.path not in live and e.doc not in run.moved and manifest.under(e.path, scope)
    ]
    run.flush()
    summary.seconds = time.perf_counter() - run.started
    return summary


def _outermost(paths: Iterable[str]) -> list[str]:
    """Sorted paths without those inside another one of them (a folder covers what is in it)."""
    out: list[str] = []
    for path in sorted(set(paths), key=lambda p: p.split(os.sep)):  # a folder right before its contents
        if not out or not manifest.under(path, [out[-1]]):
            out.append(path)
    return out
