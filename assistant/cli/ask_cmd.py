"""`assistant ask`: one question, answer streamed to stdout (or one JSON object)."""

from __future__ import annotations

import sys

import click

from assistant.cli.output import note, print_json
from assistant.config import load_settings
from assistant.pipeline.ask import ask_stream
from assistant.pipeline.events import Done
from models.base import SamplingParams, TokenDelta
from models.catalog import BUNDLED_NOTE
from models.registry import load_model


@click.command()
@click.argument("question")
@click.option("--no-remote", is_flag=True, help="Plan on the device; send nothing anywhere.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object (answer, sources, plan, outbound).",
)
@click.option("--max-tokens", default=512, show_default=True, help="Longest answer, in tokens.")
@click.option(
    "--seed", default=0, show_default=True, help="Sampling seed, for reproducible answers."
)
def ask(question: str, no_remote: bool, as_json: bool, max_tokens: int, seed: int) -> None:
    """Answer QUESTION from your records with the local model.

    Example: assistant ask "When is my next dentist appointment?" --no-remote
    """
    settings = load_settings()
    model = load_model(settings)
    if model.demo_quality:
        note(BUNDLED_NOTE)
    params = SamplingParams(max_tokens=max_tokens, seed=seed)
    for event in ask_stream(question, model, params=params):
        if isinstance(event, TokenDelta) and not as_json:
            sys.stdout.write(event.text)
            sys.stdout.flush()
        elif isinstance(event, Done):
            if as_json:
                print_json(event.answer.to_json())
            else:
                sys.stdout.write("\n")
