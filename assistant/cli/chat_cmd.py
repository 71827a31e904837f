"""`assistant chat`: the Textual app (textual is imported only when this command runs)."""

from __future__ import annotations

import click

from assistant.config import load_settings
from models.base import SamplingParams


@click.command()
@click.option(
    "--max-tokens",
    default=512,
    show_default=True,
    type=click.IntRange(1, 8192),
    help="Longest answer, in tokens.",
)
def chat(max_tokens: int) -> None:
    """Chat with your records in a terminal app: streaming answers, sources, privacy panel.

    Example: assistant chat   (keys: F1 help, Ctrl+O conversations, F2 settings, Esc stop)
    """
    from assistant.tui import run

    run(load_settings(), SamplingParams(max_tokens=max_tokens))
