"""`assistant ledger`: what left the device, request by request (decrypted locally)."""

from __future__ import annotations

import sys

import click

from assistant.cli.output import note, print_json
from assistant.config import load_settings


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print every entry as JSON, bodies included.")
@click.option("--full", is_flag=True, help="Print each request body and reply in full.")
@click.option("-n", "last", type=int, default=None, help="Only the last N entries.")
def ledger(as_json: bool, full: bool, last: int | None) -> None:
    """List every request sent off this device: time, URL, status and the exact body.

    Store-server requests are listed with their size and SHA-256 (their bodies are ciphertexts and
    are not kept). The chain of entries is checked first: a removed, reordered or altered entry, or
    entries cut off the end, is reported as an error.

    Example: assistant ledger -n 5 --full
    """
    from assistant.cli.session import open_keyring
    from assistant.pipeline.ledger import Ledger

    settings = load_settings()
    entries = Ledger(settings.home, open_keyring(settings)).entries()
    if last is not None:
        entries = entries[-last:] if last > 0 else []
    if as_json:
        print_json([e.to_json() for e in entries])
        return
    if not entries:
        note("Nothing has left this device.")
        return
    for e in entries:
        size = e.size or len(e.body.encode())
        sys.stdout.write(f"{e.time}  {e.kind:<6}  {e.status:<7}  {e.url}  {size} bytes  {e.note}\n")
        if e.kind == "store" and full:
            sys.stdout.write(f"  sha256: {e.sha256} (store requests carry ciphertexts only: not kept)\n")
        if full:
            sys.stdout.write(f"  body:  {e.body}\n")
            if e.reply:
                sys.stdout.write(f"  reply: {e.reply}\n")
    sys.stdout.flush()
