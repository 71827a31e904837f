"""Console helpers shared by the commands: errors to stderr, JSON to stdout."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

err = Console(stderr=True, highlight=False, soft_wrap=True)  # no hard wraps in pipes and logs


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def note(text: str) -> None:
    """A one-line notice on stderr, so stdout stays clean for answers and JSON."""
    err.print(f"[dim]{text}[/dim]")
