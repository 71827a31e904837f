"""Entry point: builds the click group, prints user errors without tracebacks."""

from __future__ import annotations

import importlib
import os
import sys

import click
from pydantic import ValidationError

from assistant import __version__
from assistant.errors import AssistantError, translate
from encrypted_store.errors import StoreError
from models.errors import ModelError

# command name -> "module:attribute"; modules import only when their command runs
COMMANDS: dict[str, str] = {
    "init": "assistant.cli.init_cmd:init",
    "index": "assistant.cli.index_cmd:index",
    "ask": "assistant.cli.ask_cmd:ask",
    "chat": "assistant.cli.chat_cmd:chat",
    "note": "assistant.cli.note_cmd:note",
    "ledger": "assistant.cli.ledger_cmd:ledger",
    "models": "assistant.cli.models_cmd:models",
    "store": "assistant.cli.store_cmd:store",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        """The command's click object; a registered command whose module is missing is a bug, not hidden."""
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, _, attr = target.partition(":")
        module = importlib.import_module(module_name)  # ModuleNotFoundError propagates: loud, not dropped
        return getattr(module, attr)  # type: ignore[no-any-return]


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="assistant")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
def cli(debug: bool) -> None:
    """A private assistant for your records: local model, encrypted search, sanitized planning."""


def _debug_requested(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("ASSISTANT_DEBUG") == "1"


def main(argv: list[str] | None = None) -> None:
    from assistant.cli.output import err
    from assistant.datadir import private_umask

    args = sys.argv[1:] if argv is None else argv
    debug = _debug_requested(args)
    private_umask()  # keys, store, ledger and conversations are created owner-only
    try:
        cli.main(args=args, prog_name="assistant", standalone_mode=False)
    except (AssistantError, StoreError, ModelError, ValidationError) as raised:
        if debug:
            raise
        exc = translate(raised) or AssistantError(str(raised))
        err.print(f"[bold red]error:[/bold red] {exc.title}", markup=True)
        if exc.next_step:
            err.print(f"[yellow]next step:[/yellow] {exc.next_step}")
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, click.Abort):
        if debug:
            raise
        err.print("\n[yellow]Cancelled.[/yellow]")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(0)
