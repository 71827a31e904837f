"""Layers point one way: nothing outside assistant/tui imports textual, and the CLI loads it lazily."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("assistant", "encrypted_store", "models")
TUI = ROOT / "assistant" / "tui"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_assistant_tui_imports_textual() -> None:
    offenders = []
    checked = 0
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if TUI in path.parents:
                continue
            checked += 1
            if any(n == "textual" or n.startswith("textual.") for n in _imports(path)):
                offenders.append(str(path.relative_to(ROOT)))
    assert checked > 10
    assert offenders == []


def test_the_tui_does_import_textual() -> None:
    """Guards the scan above: it does find textual where it is used."""
    assert any("textual.app" in _imports(p) for p in TUI.rglob("*.py"))


def test_headless_modules_and_the_cli_load_without_textual() -> None:
    code = (
        "import sys\n"
        "import assistant.cli.main, assistant.cli.chat_cmd, assistant.conversations\n"
        "import assistant.pipeline.ask, assistant.pipeline.events, models.registry\n"
        "from assistant.cli.main import cli\n"
        "cli.list_commands(None)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(bad)\n"
        "raise SystemExit(1 if bad else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
