"""Every command and subcommand has help text, and every one appears in README.md."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from assistant.cli.main import COMMANDS, cli

README = Path(__file__).resolve().parents[1] / "README.md"


def walk(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, f"{name} is listed but does not load"
        path = (*prefix, name)
        yield path, command
        if isinstance(command, click.Group):
            yield from walk(command, path)


COMMAND_PATHS = dict(walk(cli))


def test_every_registered_command_loads() -> None:
    assert {("models", "list"), ("models", "pull"), ("models", "bench")} <= set(COMMAND_PATHS)
    top = {path[0] for path in COMMAND_PATHS}
    assert top == set(COMMANDS)  # every registered command is listed: none silently dropped
    assert len(COMMANDS) >= 8


def test_a_missing_command_module_is_a_loud_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Control for the test above: a registered command whose module is gone fails, it does not vanish."""
    monkeypatch.setitem(COMMANDS, "ghost", "assistant.cli.no_such_cmd:ghost")
    with pytest.raises(ModuleNotFoundError, match="no_such_cmd"):
        dict(walk(cli))


@pytest.mark.parametrize("path", sorted(COMMAND_PATHS), ids=" ".join)
def test_command_has_help_text(path: tuple[str, ...]) -> None:
    command = COMMAND_PATHS[path]
    assert (command.help or "").strip(), f"`assistant {' '.join(path)}` has no help text"
    undocumented = [
        p.name for p in command.params if isinstance(p, click.Option) and not (p.help or "").strip()
    ]
    assert not undocumented, f"`assistant {' '.join(path)}` options without help: {undocumented}"
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_every_command_appears_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    names = [f"assistant {' '.join(path)}" for path in sorted(COMMAND_PATHS)]
    missing = [name for name in names if not re.search(re.escape(name) + r"(?![\w-])", text)]
    assert not missing, f"README.md does not mention: {', '.join(missing)}"
