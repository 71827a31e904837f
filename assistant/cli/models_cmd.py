"""`assistant models list / pull / bench`: local model management."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from assistant.cli.output import note, print_json
from assistant.config import Settings, load_settings
from assistant.errors import Cancelled, ModelError, translate
from models import catalog

MiB = 1024 * 1024


@click.group()
def models() -> None:
    """Manage local models: list them, download one, measure its speed."""


@dataclass(frozen=True)
class Row:
    name: str
    size_bytes: int
    status: str  # installed | not downloaded | bundled | local file | partial download
    active: bool
    path: str | None
    description: str
    recommended: bool = False

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def model_rows(settings: Settings) -> tuple[list[Row], str | None]:
    """Every known, bundled and locally found model, and why no model is active (if so)."""
    from assistant.wiring import resolve_model
    from models.download import part_path
    from models.errors import ModelError as LibraryModelError
    from models.registry import installed_path

    active_path: Path | None = None
    problem = None
    try:
        active_path = resolve_model(settings).path
    except LibraryModelError as exc:
        problem = str(translate(exc))
    rows: list[Row] = []
    known_files = set()
    for known in catalog.CATALOG:
        path = installed_path(settings.models_dir, known)
        known_files.add(path.name)
        if path.is_file():
            status, size = "installed", path.stat().st_size
        elif part_path(path).is_file():
            status, size = "partial download", known.size_bytes
        else:
            status, size = "not downloaded", known.size_bytes
        rows.append(
            Row(
                known.name,
                size,
                status,
                path == active_path,
                str(path) if path.is_file() else None,
                known.description,
                known.recommended,
            )
        )
    bundled = catalog.bundled_path()
    if bundled is not None:
        rows.append(
            Row(
                catalog.BUNDLED_NAME,
                bundled.stat().st_size,
                "bundled",
                bundled == active_path,
                str(bundled),
                "SmolLM2 135M Instruct, Q4_1: demo quality, used when nothing else is installed",
            )
        )
    if settings.models_dir.is_dir():
        for path in sorted(settings.models_dir.glob("*.gguf")):
            if path.name not in known_files:
                rows.append(
                    Row(path.stem, path.stat().st_size, "local file", path == active_path, str(path), "")
                )
    if active_path is not None and not any(r.active for r in rows):
        rows.append(
            Row(active_path.stem, active_path.stat().st_size, "local file", True, str(active_path), "")
        )
    return rows, problem


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def list_models(as_json: bool) -> None:
    """Show known and installed models, their sizes, and which one is active.

    Example: assistant models list
    """
    from rich.console import Console
    from rich.table import Table

    rows, problem = model_rows(load_settings())
    if as_json:
        print_json([r.to_json() for r in rows])
    else:
        table = Table(box=None, pad_edge=False)
        for column in ("", "name", "size", "status", "description"):
            table.add_column(column)
        for r in rows:
            name = r.name + (" (recommended)" if r.recommended else "")
            table.add_row(
                "*" if r.active else "", name, f"{r.size_bytes / MiB:,.0f} MiB", r.status, r.description
            )
        Console(width=None if sys.stdout.isatty() else 200).print(table)
        note("* = active (ASSISTANT_MODEL picks another; `assistant models pull NAME` downloads one)")
    if problem:
        note(f"no active model: {problem}")


@models.command()
@click.argument("name")
@click.option("--force", is_flag=True, help="Download again even if the file is there.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def pull(name: str, force: bool, quiet: bool) -> None:
    """Download NAME (see `assistant models list`) from the Hugging Face Hub, verified by sha256.

    An interrupted download resumes on the next run. HF_ENDPOINT selects a mirror.

    Example: assistant models pull llama-3.2-1b-instruct
    """
    from models.download import pull as download

    settings = load_settings()
    known = catalog.find(name)
    if known is None:
        if name.lower() == catalog.BUNDLED_NAME:
            note(f"{catalog.BUNDLED_NAME} ships with the assistant: nothing to download.")
            return
        names = ", ".join(m.name for m in catalog.CATALOG)
        raise ModelError(f"Unknown model {name!r}.", f"Pull one of: {names}.")
    note(f"downloading {known.repo_id}/{known.filename} (~{known.size_bytes / MiB:,.0f} MiB)")
    try:
        result = download(known, settings.models_dir, force=force, progress=not quiet)
    except KeyboardInterrupt:
        raise Cancelled(
            "Download paused.", f"Run `assistant models pull {known.name}` again to resume."
        ) from None
    if result.already_installed:
        click.echo(f"{known.name} is already installed: {result.path}")
        return
    resumed = f", resumed at {result.resumed_from / MiB:,.1f} MiB" if result.resumed_from else ""
    click.echo(f"{known.name}: {result.path} ({result.size_bytes / MiB:,.1f} MiB, sha256 ok{resumed})")


@models.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--runs", default=3, show_default=True, help="Runs to take the median of.")
@click.option("--max-tokens", default=64, show_default=True, help="Tokens generated per run.")
def bench(as_json: bool, runs: int, max_tokens: int) -> None:
    """Measure prompt and generation tokens/s of the active model.

    Example: assistant models bench --json
    """
    from assistant.wiring import load_model
    from models.speed import measure

    if runs < 1 or max_tokens < 2:
        raise click.BadParameter("--runs must be at least 1 and --max-tokens at least 2")
    settings = load_settings()
    model = load_model(settings)
    try:
        speed = measure(model, runs=runs, max_tokens=max_tokens)
    finally:
        model.close()
    if as_json:
        print_json({"model": model.name, "backend": model.backend_name, **speed.to_json()})
        return
    click.echo(f"model: {model.name} ({model.backend_name})")
    click.echo(f"prompt:     {speed.prompt_tps:8.1f} tokens/s ({speed.prompt_tokens} tokens)")
    click.echo(f"generation: {speed.generation_tps:8.1f} tokens/s ({speed.completion_tokens} tokens)")
    click.echo(f"median of {speed.runs} runs")
