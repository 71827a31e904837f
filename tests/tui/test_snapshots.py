"""Snapshots of the main screens (pytest-textual-snapshot); update with `--snapshot-update`.

The data shown is built here with fixed timestamps, so the SVGs depend on the UI alone, not on what
the model happens to say.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from assistant.config import Settings
from assistant.conversations import Conversation, ConversationStore, Turn
from assistant.pipeline.types import Outbound, Plan, Source
from assistant.tui.app import AssistantApp
from assistant.tui.screens.chat import ChatScreen
from assistant.tui.screens.modals import ConfirmSendModal, ErrorModal
from assistant.tui.screens.unlock import UnlockScreen
from tests.tui.conftest import wait_until

SIZE = (120, 36)
T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def _conversations(settings: Settings, ring: Any) -> Conversation:
    store = ConversationStore(settings.home / "conversations", ring)
    local = Conversation(id="00000000000000aa", created=T0, updated=T0)
    local.add(
        Turn(
            question="When is my next dentist appointment?",
            answer="On **14 March** at 09:30 [1].",
            sources=[Source("r7", "calendar/2026.ics", "Dentist, Dr Lee, 14 Mar 09:30", 0.7712)],
        )
    )
    local.updated = T0
    store.save(local)
    remote = Conversation(id="00000000000000bb", created=T0 + 60, updated=T0 + 60)
    body = (
        '{"model":"gpt-4o-mini","messages":[{"role":"user","content":'
        '"What dose of levothyroxine did <PERSON_1> settle on after the <DATE_1> labs?"}]}'
    )
    remote.add(
        Turn(
            question="What dose of levothyroxine did Dr Okafor settle on after the March labs?",
            answer="88 mcg daily, from the note of 14 March [1]; TSH was 2.1 [2].",
            sources=[
                Source("r1", "health/endo-2026-03.md", "Continue levothyroxine 88 mcg daily.", 0.8123),
                Source("r2", "health/labs-2026-03.pdf", "TSH 2.1 mIU/L (0.4-4.0)", 0.6544),
            ],
            plan=Plan(remote=True, guidance="Find the latest endocrinology note.", sub_queries=("dose",)),
            outbound=[Outbound("http://127.0.0.1:8000/v1/chat/completions", body)],
            replacements=[("<PERSON_1>", "PERSON"), ("<DATE_1>", "DATE")],
            sanitized="What dose of levothyroxine did <PERSON_1> settle on after the <DATE_1> labs?",
        )
    )
    remote.updated = T0 + 60
    store.save(remote)
    return remote


def _app(settings: Settings, ring: Any, model: Any) -> AssistantApp:
    return AssistantApp(settings, keyring=ring, model=model)


async def _steady(pilot: Any) -> None:
    """Stop cursors blinking, so a snapshot does not depend on the moment it is taken."""
    for screen in pilot.app.screen_stack:
        for widget in screen.query("Input, TextArea"):
            widget.cursor_blink = False
    await pilot.pause(0.1)


def _then_steady(step: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
    async def run(pilot: Any) -> None:
        await step(pilot)
        await _steady(pilot)

    return run


async def _chat(pilot: Any) -> ChatScreen:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen))
    return pilot.app.screen  # type: ignore[no-any-return]


def test_unlock_screen(snap_compare: Any, settings: Settings, keyfile: Any, small_model: Any) -> None:
    async def ready(pilot: Any) -> None:
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, UnlockScreen))

    assert snap_compare(
        AssistantApp(settings, model=small_model), terminal_size=SIZE, run_before=_then_steady(ready)
    )


def test_first_run_screen(snap_compare: Any, settings: Settings, small_model: Any) -> None:
    async def ready(pilot: Any) -> None:
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, UnlockScreen))

    assert snap_compare(
        AssistantApp(settings, model=small_model), terminal_size=SIZE, run_before=_then_steady(ready)
    )


def test_chat_with_privacy_panel(snap_compare: Any, settings: Settings, ring: Any, small_model: Any) -> None:
    conv = _conversations(settings, ring)

    async def resumed(pilot: Any) -> None:
        chat = await _chat(pilot)
        await chat.load_conversation(conv)
        await pilot.pause(0.3)

    assert snap_compare(
        _app(settings, ring, small_model), terminal_size=SIZE, run_before=_then_steady(resumed)
    )


def test_chat_sources_tab(snap_compare: Any, settings: Settings, ring: Any, small_model: Any) -> None:
    conv = _conversations(settings, ring)

    async def resumed(pilot: Any) -> None:
        chat = await _chat(pilot)
        await chat.load_conversation(conv)
        chat.query_one("#side").active = "tab-sources"
        await pilot.pause(0.3)

    assert snap_compare(
        _app(settings, ring, small_model), terminal_size=SIZE, run_before=_then_steady(resumed)
    )


def test_conversations_list(snap_compare: Any, settings: Settings, ring: Any, small_model: Any) -> None:
    _conversations(settings, ring)

    async def listed(pilot: Any) -> None:
        await _chat(pilot)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: getattr(pilot.app.screen, "items", None))

    assert snap_compare(
        _app(settings, ring, small_model), terminal_size=SIZE, run_before=_then_steady(listed)
    )


@pytest.mark.parametrize("key", ["f1", "f2"], ids=["help", "settings"])
def test_help_and_settings(
    snap_compare: Any, settings: Settings, ring: Any, small_model: Any, key: str
) -> None:
    async def opened(pilot: Any) -> None:
        await _chat(pilot)
        await pilot.press(key)
        await pilot.pause(0.2)

    assert snap_compare(
        _app(settings, ring, small_model), terminal_size=SIZE, run_before=_then_steady(opened)
    )


def test_confirm_before_send(snap_compare: Any, settings: Settings, ring: Any, small_model: Any) -> None:
    async def confirm(pilot: Any) -> None:
        await _chat(pilot)
        modal = ConfirmSendModal("When is <PERSON_1>'s next appointment?", "http://127.0.0.1:8000/v1")
        await pilot.app.push_screen(modal)
        await pilot.pause(0.2)

    assert snap_compare(
        _app(settings, ring, small_model), terminal_size=SIZE, run_before=_then_steady(confirm)
    )


def test_error_dialog(snap_compare: Any, settings: Settings, ring: Any, small_model: Any) -> None:
    async def failed(pilot: Any) -> None:
        await _chat(pilot)
        await pilot.app.push_screen(
            ErrorModal("The store server did not answer.", "Start it: assistant store serve")
        )
        await pilot.pause(0.2)

    assert snap_compare(
        _app(settings, ring, small_model), terminal_size=SIZE, run_before=_then_steady(failed)
    )


def test_index_screen_empty(snap_compare: Any, settings: Settings, ring: Any, small_model: Any) -> None:
    async def opened(pilot: Any) -> None:
        await _chat(pilot)
        await pilot.press("f3")
        await wait_until(
            pilot, lambda: "Nothing is indexed" in str(pilot.app.screen.query_one("#index-message").render())
        )

    assert snap_compare(
        _app(settings, ring, small_model), terminal_size=SIZE, run_before=_then_steady(opened)
    )
