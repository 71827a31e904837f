"""`assistant chat`: the Textual app (textual is imported only when this command runs)."""

from __future__ import annotations

import click

from assistant.config import load_settings


@click.command()
def chat() -> None:
    """Chat with your records in a terminal app: streaming answers, sources, privacy panel.

    Example: assistant chat   (keys: F1 help, Ctrl+O conversations, F2 settings, Esc stop)
    """
    from assistant.tui import run

    run(load_settings())
