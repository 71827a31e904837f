"""Library errors name no app commands or settings; the app's translate() adds them, in one place."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from assistant import errors as app
from encrypted_store import errors as se
from models import errors as me

ROOT = Path(__file__).resolve().parents[1]
APP_WORDS = ("`assistant ", "ASSISTANT_")


def _error_texts(path: Path) -> list[str]:
    """The string pieces passed to any *Error(...) constructor in `path`."""
    texts = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name.endswith(("Error", "Unavailable", "Missing", "Initialized", "Passphrase", "Installed")):
                for arg in [*node.args, *(k.value for k in node.keywords)]:
                    texts += [
                        c.value
                        for c in ast.walk(arg)
                        if isinstance(c, ast.Constant) and isinstance(c.value, str)
                    ]
    return texts


def test_library_errors_name_no_app_command_or_setting() -> None:
    files = [p for lib in ("encrypted_store", "models") for p in (ROOT / lib).rglob("*.py")]
    offenders = [
        f"{p.relative_to(ROOT)}: {t!r}"
        for p in files
        for t in _error_texts(p)
        if any(w in t for w in APP_WORDS)
    ]
    assert offenders == []


def test_the_scan_finds_app_words_in_a_planted_error(tmp_path: Path) -> None:
    """Control for the test above."""
    planted = tmp_path / "planted.py"
    planted.write_text('raise StoreError("x", f"run `assistant store compact --rebuild` on {p}")\n')
    assert any("`assistant " in t for t in _error_texts(planted))


@pytest.mark.parametrize(
    ("library", "app_cls", "step"),
    [
        (se.NotInitialized("No keys.", "Create the keys first."), app.ConfigError, "Run `assistant init`."),
        (se.WrongPassphrase("Wrong passphrase.", "Try again."), app.AuthError, "ASSISTANT_PASSPHRASE"),
        (se.TokenError("No token.", "Pass it."), app.AuthError, "ASSISTANT_STORE_TOKEN"),
        (se.UnreachableError("Down.", "Start it."), app.StoreError, "assistant store serve"),
        (se.TamperError("Tampered.", "Restore it."), app.StoreError, "Restore it."),
        (se.InputError("Bad k.", "Ask for one."), app.InputError, "Ask for one."),
        (me.ModelFileMissing("Not found.", "Check."), app.ModelError, "assistant models list"),
        (me.DownloadError("Stopped.", "Download it again.", model="m1"), app.ModelError, "models pull m1"),
        (me.ObserverUnavailable("No observer.", "Use streaming."), app.ConfigError, "Use streaming."),
        (me.ModelError("Failed.", "Shorten it."), app.ModelError, "Shorten it."),
    ],
)
def test_translate_gives_the_app_error_and_next_step(library: Exception, app_cls: type, step: str) -> None:
    error = app.translate(library)
    assert isinstance(error, app_cls) and error.title == library.message  # type: ignore[attr-defined]
    assert step in error.next_step and error.__cause__ is library


def test_translate_leaves_bugs_alone() -> None:
    assert app.translate(ValueError("a bug")) is None
    already = app.InputError("Bad.", "Fix it.")
    assert app.translate(already) is already
