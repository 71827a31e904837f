"""The note screen: a pasted transcript becomes a structured note; bad input is one dialog.

The screen's flow, on FakeChatModel; the real model writing notes is tests/test_notes_generate.py.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

import pytest

from assistant.config import Settings
from assistant.notes.render import structure_problems
from assistant.tui.app import AssistantApp
from assistant.tui.screens.chat import ChatScreen
from assistant.tui.screens.modals import ErrorModal, PathModal
from assistant.tui.screens.note import NoteScreen
from encrypted_store.keys import Keyring
from tests.tui.conftest import wait_until

TRANSCRIPT = (
    "[doctor] hi , what brings you in today ?\n"
    "[patient] my right knee hurts . it started two weeks ago after i fell .\n"
    "[doctor] i see mild swelling of the right knee . take ibuprofen 400 milligrams twice a day .\n"
)


def _app(settings: Settings, fake_model: Any) -> AssistantApp:
    return AssistantApp(
        settings, keyring=Keyring(master_key=os.urandom(32), ckks_secret=b""), model=fake_model
    )


def test_transcript_to_note_and_save(settings: Settings, fake_model: Any, tmp_path: Any) -> None:
    out = tmp_path / "note.md"

    async def scenario() -> None:
        app = _app(settings, fake_model)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen))
            await pilot.press("f4")
            await wait_until(pilot, lambda: isinstance(app.screen, NoteScreen))
            screen = app.screen
            screen.query_one("#transcript").text = TRANSCRIPT
            await pilot.press("ctrl+g")
            await wait_until(pilot, lambda: bool(screen.note_markdown), timeout=600)
            assert structure_problems(screen.note_markdown) == []
            assert screen.query_one("#note-markdown").source == screen.note_markdown
            assert "Note written" in str(screen.query_one("#note-message").render())
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: isinstance(app.screen, PathModal))
            app.screen.query_one("#path-input").value = str(out)
            await pilot.press("enter")
            await wait_until(pilot, lambda: out.exists())
            assert out.read_text(encoding="utf-8") == screen.note_markdown

    asyncio.run(scenario())


def test_empty_transcript_is_one_dialog(settings: Settings, fake_model: Any) -> None:
    async def scenario() -> None:
        app = _app(settings, fake_model)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen))
            await pilot.press("f4")
            await wait_until(pilot, lambda: isinstance(app.screen, NoteScreen))
            await pilot.press("ctrl+g")
            await wait_until(pilot, lambda: isinstance(app.screen, ErrorModal))
            assert "empty" in app.screen.error_title

    asyncio.run(scenario())


@pytest.fixture(scope="module")
def demo_model(bundled_gguf: Any) -> Any:
    """The bundled model flagged demo quality, as `load_model` flags it: the note comes from the facts."""
    from models.llamacpp import LlamaCppModel

    model = LlamaCppModel(
        bundled_gguf, n_ctx=2048, threads=1, name="smollm2-135m-instruct", demo_quality=True
    )
    yield model
    model.close()


async def _write_note(app: AssistantApp, pilot: Any, transcript: str) -> NoteScreen:
    await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen))
    await pilot.press("f4")
    await wait_until(pilot, lambda: isinstance(app.screen, NoteScreen))
    screen = app.screen
    assert isinstance(screen, NoteScreen)
    screen.query_one("#transcript").text = transcript
    await pilot.press("ctrl+g")
    return screen


def test_selecting_a_statement_shows_its_evidence(settings: Settings, demo_model: Any) -> None:
    async def scenario() -> None:
        app = _app(settings, demo_model)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _write_note(app, pilot, TRANSCRIPT)
            await wait_until(pilot, lambda: bool(screen.note_markdown), timeout=120)
            texts = [text for text, _ in screen.statements]
            target = texts.index("Start Ibuprofen 400 mg twice daily.")
            assert target > 0
            await pilot.press("ctrl+t")
            await wait_until(pilot, lambda: "Turn" in screen.evidence_shown)
            for _ in range(target):
                await pilot.press("down")
            await wait_until(pilot, lambda: "ibuprofen 400 milligrams" in screen.evidence_shown)
            shown = screen.evidence_shown
            assert shown.startswith("Turn 3: Doctor: i see mild swelling")
            await pilot.press("home")  # the first statement cites other turns: the panel follows
            await wait_until(pilot, lambda: screen.evidence_shown != shown)
            assert screen.evidence_shown == screen.statements[0][1] and "Turn 3" not in screen.evidence_shown

    asyncio.run(scenario())


def test_the_note_path_in_the_app_cannot_reach_the_network(
    settings: Settings, demo_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A library that phones home from inside the note path (stand-in: a wrapped extractor) is blocked."""
    import urllib.request

    import assistant.notes.note as note_module
    from tests.test_notes_cli import Recorder

    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/leak"
    real = note_module.extract_facts

    def phoning_home(transcript: Any) -> Any:
        urllib.request.urlopen(url, data=transcript.text.encode(), timeout=5)
        return real(transcript)

    try:
        with urllib.request.urlopen(url, timeout=5):  # control: the recorder does record
            pass
        assert server.requests == ["GET /leak"]
        server.requests.clear()
        server.connections = 0
        monkeypatch.setattr(note_module, "extract_facts", phoning_home)

        async def scenario() -> None:
            app = _app(settings, demo_model)
            async with app.run_test(size=(120, 40)) as pilot:
                await _write_note(app, pilot, TRANSCRIPT)
                await wait_until(pilot, lambda: isinstance(app.screen, ErrorModal), timeout=120)
                assert "network connection" in app.screen.error_title

        asyncio.run(scenario())
        assert server.connections == 0 and server.requests == []
    finally:
        server.shutdown()
        server.server_close()
