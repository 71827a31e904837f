"""The note screen: a pasted transcript becomes a structured note; bad input is one dialog.

The screen's flow, on FakeChatModel; the real model writing notes is tests/test_notes_generate.py.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

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
