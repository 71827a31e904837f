"""Layers point one way: the libraries never import the app; only assistant/tui imports textual."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("assistant", "encrypted_store", "models")
LIBRARIES = ("encrypted_store", "models")
TUI = ROOT / "assistant" / "tui"


def _imports(path: Path) -> set[str]:
    """Every absolute module a file imports, at any depth (lazy imports inside functions included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def _under(name: str, top: str) -> bool:
    return name == top or name.startswith(top + ".")


def _offenders(files: list[Path], top: str) -> list[str]:
    return sorted(str(p) for p in files if any(_under(n, top) for n in _imports(p)))


def test_libraries_never_import_the_app() -> None:
    files = [p for lib in LIBRARIES for p in (ROOT / lib).rglob("*.py")]
    assert len(files) > 30
    assert _offenders(files, "assistant") == []


def test_only_assistant_tui_imports_textual() -> None:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if TUI not in p.parents]
    assert len(files) > 10
    assert _offenders(files, "textual") == []


def test_the_scanner_catches_planted_imports(tmp_path: Path) -> None:
    """Control: the same scan flags a top-level, a lazy and an importlib import of the app."""
    planted = {
        "top.py": "from assistant.errors import AssistantError\n",
        "lazy.py": "def f():\n    import assistant.config\n    return assistant.config\n",
        "dynamic.py": "import importlib\nm = importlib.import_module('assistant.config')\n",
        "tui.py": "def g():\n    from textual.app import App\n    return App\n",
    }
    for name, text in planted.items():
        (tmp_path / name).write_text(text)
    clean = tmp_path / "clean.py"
    clean.write_text("import assistants_helper\nfrom models.errors import ModelError\n")
    files = sorted(tmp_path.glob("*.py"))
    flagged = {Path(p).name for p in _offenders(files, "assistant")}
    assert flagged == {"top.py", "lazy.py", "dynamic.py"}
    assert {Path(p).name for p in _offenders(files, "textual")} == {"tui.py"}


def test_the_tui_does_import_textual() -> None:
    """Guards the scan above: it does find textual where it is used."""
    assert any("textual.app" in _imports(p) for p in TUI.rglob("*.py"))


def _loaded_in_a_fresh_process(imports: str, top: str) -> list[str]:
    """Modules under `top` that end up in sys.modules after running `imports` in a new interpreter."""
    found = f"sorted(m for m in sys.modules if m == {top!r} or m.startswith({top!r} + '.'))"
    code = f"import sys\n{imports}\nprint({found})"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return ast.literal_eval(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_headless_modules_and_the_cli_load_without_textual() -> None:
    imports = (
        "import assistant.cli.main, assistant.cli.chat_cmd, assistant.conversations, assistant.core\n"
        "import assistant.pipeline.session, assistant.pipeline.events, models.registry\n"
        "from assistant.cli.main import cli\n"
        "cli.list_commands(None)"
    )
    assert _loaded_in_a_fresh_process(imports, "textual") == []
    assert _loaded_in_a_fresh_process("import assistant.tui.app", "textual") != []  # control


def test_libraries_load_without_the_app() -> None:
    imports = (
        "import encrypted_store, encrypted_store.keys, encrypted_store.store, encrypted_store.server\n"
        "import models.registry, models.llamacpp, models.download, models.eviction"
    )
    assert _loaded_in_a_fresh_process(imports, "assistant") == []
    assert _loaded_in_a_fresh_process("import assistant.errors", "assistant") != []  # control
