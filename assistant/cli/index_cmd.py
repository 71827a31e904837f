"""`assistant index`: encrypt and index files and folders (a thin layer over assistant.ingest.indexer)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import click

from assistant.cli.output import err, note, print_json
from assistant.config import load_settings
from assistant.errors import InputError


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary object on stdout.")
@click.option("--list", "list_only", is_flag=True, help="Show what is indexed, and index nothing.")
@click.option(
    "--forget", "forget", multiple=True, metavar="PATH", help="Remove a file or folder from the index."
)
@click.option("--max-size", default=50.0, show_default=True, help="Skip files larger than this (MiB).")
@click.option("--embed-model", default=None, metavar="DIR", help="sentence-transformers model folder.")
@click.option("--batch", default=256, show_default=True, help="Chunks embedded and stored per batch.")
@click.option(
    "--watch", "watch", is_flag=True, help="After indexing, follow PATHS and apply changes (Ctrl-C stops)."
)
@click.option(
    "--debounce",
    default=1600,
    show_default=True,
    metavar="MS",
    help="With --watch: longest wait to group events.",
)
def index(
    paths: tuple[str, ...],
    as_json: bool,
    list_only: bool,
    forget: tuple[str, ...],
    max_size: float,
    embed_model: str | None,
    batch: int,
    watch: bool,
    debounce: int,
) -> None:
    """Encrypt and index PATHS (files and folders); only new and changed files are processed.

    Reads .txt .md .pdf .docx .html .eml .mbox .ics .json .csv .vcf, and scans (.png .jpg .tif, PDF
    pages without text) with the `ocr` extra. Safe to stop at any time (even kill -9): the next run
    continues where it stopped. --watch keeps following the folders: new, changed, renamed and
    deleted files are applied as they happen.

    Examples: assistant index ~/Documents/records --json;  assistant index --watch ~/Documents/records;
    assistant index --list;  assistant index --forget ~/Documents/records/old
    """
    if list_only and (paths or forget or watch):
        raise InputError(
            "--list cannot be combined with paths, --forget or --watch.",
            "Run `assistant index --list` alone.",
        )
    if not (paths or forget or list_only):
        raise InputError("Nothing to index.", "Name files or folders: assistant index ~/Documents/records")
    if watch and (forget or not paths):
        raise InputError(
            "--watch needs folders to follow.", "e.g. assistant index --watch ~/Documents/records"
        )
    if max_size <= 0 or batch < 1:
        raise InputError("--max-size and --batch must be positive.", "e.g. --max-size 50 --batch 256")
    if debounce < 1:
        raise InputError("--debounce must be positive (milliseconds).", "e.g. --debounce 1600")
    from assistant.cli.session import open_keyring, store_recorder
    from assistant.wiring import open_store

    settings = load_settings()
    keyring = open_keyring(settings)
    recorder = store_recorder(settings, keyring)
    if list_only:
        _list(open_store(settings, keyring, recorder=recorder), as_json)
        return
    output: dict[str, Any] = {}
    # an existing store knows its dimension (and checks each vector) and the embedder it was built with
    fresh = not settings.store_url and not settings.store_path.exists()
    store = None if fresh else open_store(settings, keyring, recorder=recorder)
    embedder = None
    if paths:
        from assistant.wiring import embedder as make_embedder

        chosen = settings if embed_model is None else settings.model_copy(update={"embed_model": embed_model})
        embedder = make_embedder(chosen, store=store)  # --embed-model, else the one the index remembers
    if store is None:
        store = open_store(settings, keyring, dim=embedder.dim if embedder else None, recorder=recorder)
    from assistant.privacy.vocabulary import PrivateVocabulary

    vocabulary = PrivateVocabulary.load(settings.home, keyring)  # sealed; shrinks and grows with the index
    try:
        if forget:
            output["forgotten"] = _forget(store, forget, as_json, vocabulary)
        if paths and embedder is not None:
            from assistant.ingest.indexer import IndexOptions

            options = IndexOptions(max_bytes=int(max_size * 1024 * 1024), batch_chunks=batch)
            if watch:
                _watch(
                    list(paths),
                    store,
                    embedder,
                    keyring,
                    options,
                    [str(settings.home)],
                    debounce,
                    as_json,
                    vocabulary,
                )
                return
            summary = _run(list(paths), store, embedder, keyring, options, vocabulary)
            output.update(summary.to_json())
            if not as_json:
                _print_summary(summary)
    finally:
        store.close()
    if as_json:
        print_json(output)


def _run(
    paths: list[str], store: Any, embedder: Any, keyring: Any, options: Any, vocabulary: Any = None
) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from assistant.ingest.indexer import IndexProgress, index_paths

    columns = (
        TextColumn("[bold]indexing[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files  {task.fields[chunks]} chunks  {task.fields[rate]:.0f} chunks/s"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("index", total=None, chunks=0, rate=0.0)

        def on_progress(event: IndexProgress) -> None:
            rate = event.chunks_added / event.elapsed if event.elapsed > 0 else 0.0
            bar.update(
                task,
                total=event.files_total,
                completed=event.files_done,
                chunks=event.chunks_added,
                rate=rate,
            )

        return index_paths(
            paths, store, embedder, keyring, options=options, progress=on_progress, vocabulary=vocabulary
        )


def _watch(
    paths: list[str],
    store: Any,
    embedder: Any,
    keyring: Any,
    options: Any,
    ignore: list[str],
    debounce: int,
    as_json: bool,
    vocabulary: Any = None,
) -> None:
    """Index, then follow `paths` until Ctrl-C (or SIGTERM): each applied batch is one line on stdout."""
    import signal
    import threading

    from assistant.ingest.watch import Applied, WatchOptions, watch_paths

    stop = threading.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C interrupts at once

    def on_start(summary: Any) -> None:
        if as_json:
            _json_line({"event": "indexed", **summary.to_json()})
        else:
            _print_summary(summary)
            click.echo(f"Watching {len(paths)} path(s) for changes; Ctrl-C stops.", err=True)

    def on_applied(batch: Applied) -> None:
        if as_json:
            _json_line(
                {"event": "applied", "at": batch.at, "events": batch.events, **batch.summary.to_json()}
            )
        else:
            click.echo(batch.line())

    old = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        timing = WatchOptions(debounce_ms=debounce, step_ms=min(300, debounce))
        batches = watch_paths(
            paths,
            store,
            embedder,
            keyring,
            stop=stop,
            options=options,
            watch=timing,
            ignore=ignore,
            on_start=on_start,
            on_applied=on_applied,
            vocabulary=vocabulary,
        )
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    if as_json:
        _json_line({"event": "stopped", "batches": batches})
    else:
        note(f"Stopped watching after {batches} batch(es); the index matches the folders as of the last one.")


def _json_line(obj: dict[str, Any]) -> None:
    import json
    import sys

    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _forget(store: Any, paths: tuple[str, ...], as_json: bool, vocabulary: Any = None) -> dict[str, Any]:
    from assistant.ingest import manifest
    from assistant.ingest.discover import normalize

    roots = [normalize(p) for p in paths]
    gone, chunks = manifest.forget(store, roots)
    if not gone:
        raise InputError(
            f"Nothing indexed at {', '.join(paths)}.", "See what is indexed with `assistant index --list`."
        )
    if not as_json:
        note(f"Forgot {len(gone)} file(s), {chunks} chunk(s) removed.")
    if vocabulary is not None:
        vocabulary.forget_documents(f.doc for f in gone)
    return {"files": [f.path for f in gone], "chunks_removed": chunks}


def _list(store: Any, as_json: bool) -> None:
    from assistant.ingest import manifest

    try:
        files = sorted(manifest.load(store).values(), key=lambda f: f.path)
        roots = manifest.load_roots(store)
    finally:
        store.close()
    if as_json:
        print_json(
            {
                "files": [f.to_json() for f in files],
                "chunks": sum(f.chunks for f in files),
                "roots": [r.to_value() for r in roots],
            }
        )
        return
    if not files:
        note("Nothing is indexed yet. Run `assistant index PATH`.")
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    if roots:
        folders = Table(box=None, title="indexed folders", title_justify="left")
        folders.add_column("root", overflow="fold")
        for name in ("files", "last sync", "watching"):
            folders.add_column(name, no_wrap=True)
        for root in roots:
            when = root.last_sync.replace("T", " ")[:19]
            folders.add_row(root.path, str(root.files), when, "yes" if root.watching else "")
        console.print(folders)

    table = Table(box=None)
    table.add_column("path", overflow="fold")
    for name in ("kind", "chunks", "indexed at"):
        table.add_column(name, no_wrap=True)
    for item in files:
        table.add_row(item.path, item.source, str(item.chunks), item.indexed_at.replace("T", " ")[:16])
    console.print(table)
    console.print(f"{len(files)} file(s), {sum(f.chunks for f in files)} chunk(s)")


def _print_summary(summary: Any) -> None:
    click.echo(
        f"Indexed {summary.files_indexed} file(s), {summary.chunks_added} chunk(s) added, "
        f"{summary.chunks_removed} removed; {summary.files_unchanged} unchanged, "
        f"{summary.files_removed} gone; {summary.seconds:.1f} s."
    )
    if summary.files_recovered:
        click.echo(f"Recovered from an interrupted run: {summary.files_recovered} file(s) redone.")
    if summary.skipped:
        reasons = Counter(s.reason for s in summary.skipped)
        click.echo(f"Skipped {len(summary.skipped)} file(s):")
        for reason, n in reasons.most_common():
            example = next(s.path for s in summary.skipped if s.reason == reason)
            click.echo(f"  {n} x {reason}  (e.g. {example})")
