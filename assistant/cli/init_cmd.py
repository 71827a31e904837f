"""`assistant init`: create the data dir and its keys, or change the passphrase."""

from __future__ import annotations

import click

from assistant.cli.output import note, print_json
from assistant.cli.session import passphrase
from assistant.config import load_settings
from assistant.errors import AuthError


@click.command()
@click.option("--change-passphrase", is_flag=True, help="Re-wrap the keys under a new passphrase.")
@click.option(
    "--rekey",
    is_flag=True,
    help="Re-encrypt everything under a new master key and CKKS key (same passphrase).",
)
@click.option(
    "--new-passphrase-env",
    default="ASSISTANT_NEW_PASSPHRASE",
    show_default=True,
    help="Environment variable read for the new passphrase (else a prompt).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object describing the result.")
def init(change_passphrase: bool, rekey: bool, new_passphrase_env: str, as_json: bool) -> None:
    """Create the data dir and the encryption keys (idempotent).

    --change-passphrase only re-wraps the master key: data sealed so far stays as it is. --rekey
    re-encrypts the store, ledger and conversations under fresh keys (crash-safe: an interrupted run
    is finished or undone by the next command that unlocks).

    Example: ASSISTANT_PASSPHRASE=... assistant init
    """
    import os

    from assistant import wiring

    settings = load_settings()
    if rekey:
        from assistant import rekey as rekeying
        from assistant.errors import InputError

        if change_passphrase:
            raise InputError(
                "--rekey and --change-passphrase are separate steps.", "Run them one after the other."
            )
        wiring.read_keyfile(settings)  # "run `assistant init`" before asking for a passphrase
        report = rekeying.rekey(settings, passphrase(settings), progress=lambda s: note(f"rekey: {s}"))
        if as_json:
            print_json({"status": "rekeyed", "keyfile": str(settings.keyfile), **report.to_json()})
            return
        note(
            f"Re-encrypted {report.records} records, {report.manifest} manifest entries, "
            f"{report.ledger_entries} ledger entries and {report.conversations} conversations under new keys."
        )
        for item in report.skipped:
            note(f"warning: {item}")
        return
    if change_passphrase:
        old = passphrase(settings, prompt="Current passphrase")
        new = os.environ.get(new_passphrase_env) or _prompt_new()
        wiring.change_passphrase(settings, old, new)
        _report(
            as_json, "passphrase-changed", settings.keyfile, "Passphrase changed; your data is unchanged."
        )
        return
    from assistant.datadir import secure_home

    if wiring.is_initialized(settings):
        fixed = secure_home(settings.home)
        message = f"Already initialized; tightened the modes of {len(fixed)} path(s)." if fixed else ""
        _report(
            as_json,
            "already-initialized",
            settings.keyfile,
            message or "Already initialized; nothing changed.",
        )
        return
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    secure_home(settings.home)  # a data dir made earlier (0755, files 0644) becomes owner-only too
    wiring.create_keys(settings, passphrase(settings, prompt="New passphrase", confirm=True))
    _report(
        as_json,
        "initialized",
        settings.keyfile,
        "Keys created. Keep your passphrase: it cannot be recovered.",
    )


def _prompt_new() -> str:
    import sys

    if not sys.stdin.isatty():
        raise AuthError(
            "A new passphrase is needed and there is no terminal to ask for it.",
            "Set ASSISTANT_NEW_PASSPHRASE.",
        )
    value: str = click.prompt("New passphrase", hide_input=True, confirmation_prompt=True, err=True)
    return value


def _report(as_json: bool, status: str, keyfile: object, message: str) -> None:
    if as_json:
        print_json({"status": status, "keyfile": str(keyfile)})
    else:
        note(f"{message} ({keyfile})")
