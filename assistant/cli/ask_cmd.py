"""`assistant ask`: one question through the whole pipeline, streamed to stdout (or one JSON object)."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from typing import TextIO

import click

from assistant.cli.output import note, print_json
from assistant.config import load_settings
from assistant.pipeline.events import Done, Notice, PlanReady, Sanitized, Stage
from assistant.wiring import resolve_model
from models.base import SamplingParams, TokenDelta
from models.catalog import BUNDLED_NOTE


@click.command()
@click.argument("question")
@click.option("--no-remote", is_flag=True, help="Plan on the device; send nothing anywhere.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object (answer, sources, plan, outbound).",
)
@click.option("-k", "top_k", default=5, show_default=True, help="How many records the answer reads.")
@click.option("--max-tokens", default=512, show_default=True, help="Longest answer, in tokens.")
@click.option("--seed", default=0, show_default=True, help="Sampling seed, for reproducible answers.")
def ask(question: str, no_remote: bool, as_json: bool, top_k: int, max_tokens: int, seed: int) -> None:
    """Answer QUESTION from your records with the local model.

    With ASSISTANT_REMOTE_URL set, only the sanitized question goes to the remote planner; every
    request is recorded (see `assistant ledger`).

    Example: assistant ask "When is my next dentist appointment?" --no-remote
    """
    from assistant.core import AssistantCore

    settings = load_settings()
    if settings.backend == "llamacpp" and resolve_model(settings).bundled:
        note(BUNDLED_NOTE)
    core = AssistantCore(settings, params=SamplingParams(max_tokens=max_tokens, seed=seed), k=top_k)
    progress = _progress_stream()
    core.preload()  # model, embedding stack and NER model load in threads while the keyring opens
    try:
        if settings.keyfile.exists():
            from assistant.cli.session import open_keyring

            core.keyring = open_keyring(settings)
        for event in core.ask(question, use_remote=False if no_remote else None):
            if isinstance(event, Stage):  # stderr, also under --json: stdout stays one JSON object
                progress.write(event.label() + "\n")
            elif isinstance(event, Notice):
                progress.write(event.text + "\n")
            elif isinstance(event, Sanitized) and not as_json:
                note(f"Sent to the planner: {event.text}")
            elif isinstance(event, PlanReady) and event.plan.sub_queries and not as_json:
                note("Searching: " + " | ".join(event.plan.sub_queries))
            elif isinstance(event, TokenDelta) and not as_json:
                sys.stdout.write(event.text)
                sys.stdout.flush()
            elif isinstance(event, Done):
                _finish(event, as_json)
    finally:
        core.close()
        if progress is not sys.stderr:
            progress.close()


def _progress_stream() -> TextIO:
    """A duplicate of stderr: while a llama.cpp model loads (in a preload thread) it points fd 2 at
    /dev/null for the whole process, and progress printed meanwhile would vanish."""
    with contextlib.suppress(AttributeError, OSError, io.UnsupportedOperation):
        return os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1, encoding="utf-8")
    return sys.stderr


def _finish(event: Done, as_json: bool) -> None:
    if as_json:
        print_json(event.answer.to_json())
        return
    sys.stdout.write("\n")
    if event.answer.sources:
        sys.stdout.write("\nSources:\n")
        for n, s in enumerate(event.answer.sources, 1):
            sys.stdout.write(f"  [{n}] {s.path or s.id}  ({s.score:.2f})\n")
            for sentence in s.evidence:
                sys.stdout.write(f"      > {sentence}\n")
    sys.stdout.flush()
