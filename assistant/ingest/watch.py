"""Keep the index current by itself: a full pass over the roots, then each debounced batch of file
events (created, changed, deleted, renamed) applied through `changes.apply_changes`.

The watcher is armed before the first pass, so nothing written during it is missed. Batches are the
indexer's journaled batches: a kill at any moment leaves whole batches, and the next start's first
pass catches up with whatever changed while nothing was watching.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import Cancelled, ConfigError, InputError
from assistant.ingest import manifest
from assistant.ingest.changes import apply_changes
from assistant.ingest.discover import check_roots, hidden_under, normalize
from assistant.ingest.indexer import (
    EmbedderLike,
    IndexOptions,
    IndexProgress,
    IndexSummary,
    index_paths,
)
from assistant.ingest.manifest import KeyringLike
from assistant.ingest.readers import reader_for
from encrypted_store.api import Store


@dataclass(frozen=True)
class WatchOptions:
    """How events are grouped: a batch closes after `step_ms` without events, or `debounce_ms` at most."""

    debounce_ms: int = 1600
    step_ms: int = 300
    tick_ms: int = 500  # how often the waiting loop wakes (a stop request is seen within one step)


@dataclass(frozen=True)
class Applied:
    """One batch of changes the watcher applied."""

    at: str  # ISO time (UTC) when the batch was in the store
    events: int  # file events it covered
    summary: IndexSummary

    def line(self) -> str:
        """A one-line account for the CLI and the index screen."""
        s = self.summary
        parts = [f"{s.files_indexed} indexed", f"{s.files_removed} removed"]
        if s.files_moved:
            parts.insert(1, f"{s.files_moved} moved")
        if s.skipped:
            parts.append(f"{len(s.skipped)} skipped")
        chunks = f"+{s.chunks_added}/-{s.chunks_removed} chunks"
        if s.chunks_reused:
            chunks += f" ({s.chunks_reused} reused)"
        return f"{self.at[11:19]}  {', '.join(parts)}; {chunks}; {s.seconds:.2f} s"


class _Filter:
    """Events worth a look: not hidden, not in the data dir, and a folder, a readable type or a deletion."""

    def __init__(self, roots: Sequence[str], ignore: Sequence[str]) -> None:
        self.roots, self.ignore = list(roots), [normalize(p) for p in ignore]

    def __call__(self, change: Any, path: str) -> bool:
        if manifest.under(path, self.ignore) or hidden_under(path, self.roots):
            return False
        if change.name == "deleted" or os.path.isdir(path) or not os.path.lexists(path):
            return True
        return reader_for(Path(path)) is not None


def _aliases(roots: Sequence[str]) -> list[tuple[str, str]]:
    """(resolved prefix, root) for roots behind symlinks: events may name the resolved path."""
    return [(os.path.realpath(r), r) for r in roots if os.path.realpath(r) != r]


def _as_seen(path: str, aliases: Sequence[tuple[str, str]]) -> str:
    for real, root in aliases:
        if manifest.under(path, [real]):
            return root + path[len(real) :]
    return path


def watch_paths(
    paths: Sequence[str],
    store: Store,
    embedder: EmbedderLike,
    keyring: KeyringLike,
    *,
    stop: threading.Event,
    options: IndexOptions | None = None,
    watch: WatchOptions | None = None,
    ignore: Sequence[str] = (),
    on_start: Callable[[IndexSummary], None] | None = None,
    on_applied: Callable[[Applied], None] | None = None,
    progress: Callable[[IndexProgress], None] | None = None,
    vocabulary: Any = None,
) -> int:
    """Index `paths`, then follow them until `stop` is set; returns how many batches were applied.

    `vocabulary` (the privacy layer's sealed private vocabulary) follows every batch, deletions too.

    `ignore` lists folders whose events are dropped (the data dir, when it lies inside a root).
    `on_start` gets the first pass's summary, `on_applied` each batch that changed something
    (`progress` hears from both). Setting `stop`
    ends the wait at once, or the batch in progress at its next file (what it stored is kept).

    Raises:
        InputError: a path does not exist. ConfigError: watchfiles is not installed.
        StoreError, ModelError: from the store or the embedder.
    """
    try:
        import watchfiles
    except ImportError:
        raise ConfigError(
            "Watching folders needs the `watchfiles` package.",
            "Install it with: pip install 'private-assistant[ingest]'",
        ) from None
    roots = check_roots(paths)
    options = options or IndexOptions()
    timing = watch or WatchOptions()
    aliases = _aliases(roots)
    events = watchfiles.watch(
        *roots,
        watch_filter=_Filter(roots + [real for real, _root in aliases], ignore),
        debounce=timing.debounce_ms,
        step=timing.step_ms,
        stop_event=stop,
        rust_timeout=timing.tick_ms,
        yield_on_timeout=True,
        raise_interrupt=False,
    )
    batches = 0
    try:
        try:
            next(events, None)  # arms the watcher: what happens during the first pass is kept for later
        except OSError as exc:
            raise InputError(
                f"Cannot watch {', '.join(roots)}: {exc}",
                "On Linux, raise the limit: sudo sysctl fs.inotify.max_user_watches=524288",
            ) from None
        same = {"options": options, "progress": progress, "cancel": stop, "vocabulary": vocabulary}
        first = index_paths(roots, store, embedder, keyring, **same)
        manifest.mark_synced(store, roots, watching=True)
        if on_start is not None:
            on_start(first)
        for changes in events:
            if not changes:
                continue
            changed = [_as_seen(path, aliases) for _change, path in changes]
            summary = apply_changes(changed, roots, store, embedder, keyring, **same)
            manifest.mark_synced(store, roots, watching=True)
            batches += 1
            s = summary
            if on_applied is not None and (s.files_indexed or s.files_moved or s.files_removed or s.skipped):
                at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
                on_applied(Applied(at, len(changes), summary))
    except Cancelled:
        pass  # stopped inside a pass: what was stored is whole, the rest is found on the next start
    finally:
        events.close()
    if stop.is_set():
        manifest.stop_watching(store, roots)
    return batches
