"""Unlock, errors, settings, conversations and sources screens, driven by the pilot (no generation)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pydantic import SecretStr

from assistant.config import Settings
from assistant.conversations import Conversation, ConversationStore, Turn
from assistant.pipeline.types import Source
from assistant.tui.app import AssistantApp
from assistant.tui.prefs import FILENAME
from assistant.tui.screens.chat import ChatScreen
from assistant.tui.screens.conversations import ConversationsScreen
from assistant.tui.screens.modals import ErrorModal, PathModal, RecordModal, YesNoModal
from assistant.tui.screens.settings import SettingsScreen
from assistant.tui.screens.unlock import UnlockScreen
from assistant.tui.widgets.panels import SourcesPanel
from tests.tui.conftest import PASSPHRASE, type_text, wait_until

SNIPPET = "TSH 2.1 on 2024-03-14; continue levothyroxine 88 mcg daily."


def _saved(settings: Settings, ring: Any) -> Conversation:
    conv = Conversation()
    conv.add(
        Turn(
            question="What dose did the endocrinologist settle on?",
            answer="Levothyroxine 88 mcg daily [1].",
            sources=[Source("rec-1", "health/endo-2024-03.md", SNIPPET, 0.8123)],
        )
    )
    ConversationStore(settings.home / "conversations", ring).save(conv)
    return conv


def test_wrong_passphrase_is_refused_then_the_right_one_unlocks(
    settings: Settings, keyfile: Any, small_model: Any
) -> None:
    async def scenario() -> None:
        app = AssistantApp(settings, model=small_model)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, UnlockScreen))
            screen = app.screen
            await type_text(pilot, "not the passphrase")
            await pilot.press("enter")
            message = screen.query_one("#unlock-message")
            await wait_until(pilot, lambda: "Wrong passphrase" in str(message.render()))
            assert app.screen is screen and app.keyring is None
            assert screen.query_one("#passphrase").value == ""  # cleared, ready for another try
            await wait_until(pilot, lambda: not screen.query_one("#passphrase").disabled)
            await type_text(pilot, PASSPHRASE)
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen))
            assert app.keyring is not None and app.keyring.master_key == keyfile.master_key
            await pilot.pause(0.3)  # let the chat screen finish mounting before the app exits

    asyncio.run(scenario())


def test_first_run_creates_keys_after_matching_passphrases(settings: Settings, small_model: Any) -> None:
    async def scenario() -> None:
        app = AssistantApp(settings, model=small_model)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, UnlockScreen))
            screen = app.screen
            assert screen.create
            await type_text(pilot, "a long passphrase")
            await pilot.press("enter")  # moves to the repeat box
            await type_text(pilot, "a different one!")
            await pilot.press("enter")
            assert "differ" in str(screen.query_one("#unlock-message").render())
            assert not settings.keyfile.exists()
            await type_text(pilot, "a long passphrase")
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen), timeout=30)
            assert settings.keyfile.exists()
            await pilot.pause(0.3)  # let the chat screen finish mounting before the app exits

    asyncio.run(scenario())


def test_a_model_error_is_one_dialog_with_a_next_step(settings: Settings, ring: Any) -> None:
    broken = settings.model_copy(update={"model": str(settings.home / "missing.gguf")})

    async def scenario() -> None:
        app = AssistantApp(broken, keyring=ring)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, ErrorModal))
            modal = app.screen
            assert "Model file not found" in modal.error_title
            assert "assistant models list" in modal.next_step
            assert "Traceback" not in str(modal.query_one("#error-title").render())
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen))

    asyncio.run(scenario())


def test_settings_are_saved_and_applied(settings: Settings, ring: Any, small_model: Any) -> None:
    async def scenario() -> None:
        app = AssistantApp(settings, keyring=ring, model=small_model)
        async with app.run_test(size=(100, 40)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen))
            await pilot.press("f2")
            await wait_until(pilot, lambda: isinstance(app.screen, SettingsScreen))
            app.screen.query_one("#strictness").value = "relaxed"
            app.screen.query_one("#model").value = "smollm2-135m-instruct"
            assert app.screen.query_one("#remote").disabled  # no remote configured
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen))
            assert app.prefs.strictness == "relaxed"
            assert app.core.generalize is True
            assert app.core.settings.model == "smollm2-135m-instruct"
        saved = json.loads((settings.home / FILENAME).read_text())
        assert saved["strictness"] == "relaxed" and saved["model"] == "smollm2-135m-instruct"

    asyncio.run(scenario())


def test_sources_panel_opens_the_cited_record(settings: Settings, ring: Any, small_model: Any) -> None:
    _saved(settings, ring)

    async def scenario() -> None:
        app = AssistantApp(settings, keyring=ring, model=small_model)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen))
            chat = app.screen
            await pilot.press("ctrl+o")
            await wait_until(pilot, lambda: isinstance(app.screen, ConversationsScreen) and app.screen.items)
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.screen is chat and chat.selected == 0)
            table = chat.query_one(SourcesPanel).query_one("#sources-table")
            assert table.row_count == 1
            assert table.get_row_at(0)[:3] == ["1", "0.81", "health/endo-2024-03.md"]
            # The citation [1] in the answer is a link to source 1.
            assert "(source:1)" in chat.query("AnswerView Markdown").first().source
            chat.open_source(1)
            await wait_until(pilot, lambda: isinstance(app.screen, RecordModal))
            assert app.screen.text == SNIPPET
            assert "health/endo-2024-03.md" in app.screen.heading

    asyncio.run(scenario())


def test_conversations_export_and_delete(
    settings: Settings, ring: Any, small_model: Any, tmp_path: Any
) -> None:
    conv = _saved(settings, ring)
    dest = tmp_path / "out.md"

    async def scenario() -> None:
        app = AssistantApp(settings, keyring=ring, model=small_model)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen))
            await pilot.press("ctrl+o")
            await wait_until(pilot, lambda: isinstance(app.screen, ConversationsScreen) and app.screen.items)
            listing = app.screen
            await pilot.press("e")
            await wait_until(pilot, lambda: isinstance(app.screen, PathModal))
            app.screen.query_one("#path-input").value = str(dest)
            await pilot.press("enter")
            await wait_until(pilot, lambda: dest.exists())
            assert "Levothyroxine 88 mcg daily [1]." in dest.read_text()
            await pilot.press("d")
            await wait_until(pilot, lambda: isinstance(app.screen, YesNoModal))
            await pilot.press("y")
            await wait_until(pilot, lambda: app.screen is listing and not listing.items)
        assert not (settings.home / "conversations" / f"{conv.id}.conv").exists()

    asyncio.run(scenario())


def test_assistant_passphrase_unlocks_without_the_screen_and_a_wrong_one_falls_back(
    settings: Settings, keyfile: Any, small_model: Any
) -> None:
    async def scenario(passphrase: str) -> type:
        app = AssistantApp(
            settings.model_copy(update={"passphrase": SecretStr(passphrase)}), model=small_model
        )
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen | UnlockScreen))
            await pilot.pause(0.3)  # let the screen finish mounting before the app exits
            return type(app.screen)

    assert asyncio.run(scenario(PASSPHRASE)) is ChatScreen
    assert asyncio.run(scenario("wrong passphrase")) is UnlockScreen
