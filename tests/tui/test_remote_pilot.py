"""The privacy panel and confirm-before-send against a real OpenAI-compatible stand-in on 127.0.0.1.

The local model is FakeChatModel: what leaves the device does not depend on its answers.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from assistant.config import Settings, load_settings
from assistant.tui.app import AssistantApp
from assistant.tui.screens.chat import ChatScreen
from assistant.tui.screens.modals import ConfirmSendModal
from assistant.tui.widgets.panels import NOTHING_LEFT, render_privacy
from assistant.tui.widgets.prompt import PromptInput
from encrypted_store.keys import Keyring
from models.base import SamplingParams
from tests.remote_standin import RemoteStandin
from tests.tui.conftest import type_text, wait_until

pytestmark = pytest.mark.slow
QUESTION = "When did Dr Alice Smith last see me in Boston?"
SLOW = 300  # s; the first sanitizer call loads spaCy, slow on a busy 2-core machine


@pytest.fixture
def remote() -> Any:
    with RemoteStandin() as server:
        yield server


@pytest.fixture
def remote_settings(remote: RemoteStandin, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ASSISTANT_REMOTE_URL", remote.url)
    return load_settings()


def _app(settings: Settings, fake_model: Any) -> AssistantApp:
    ring = Keyring(master_key=os.urandom(32), ckks_secret=b"")
    return AssistantApp(settings, keyring=ring, model=fake_model, params=SamplingParams(max_tokens=16))


async def _submit(pilot: Any, chat: ChatScreen, question: str) -> None:
    """Ask `question`; returns once the turn started (or, on a fast turn, already ended)."""
    before = len(chat.conversation.turns)
    await type_text(pilot, question)
    await chat.query_one(PromptInput).action_submit()
    await wait_until(pilot, lambda: chat.busy or len(chat.conversation.turns) > before)


def test_confirm_edit_send_and_the_exact_body(
    remote_settings: Settings, remote: RemoteStandin, fake_model: Any
) -> None:
    async def scenario() -> None:
        app = _app(remote_settings, fake_model)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen))
            chat = app.screen
            await _submit(pilot, chat, QUESTION)
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmSendModal), timeout=SLOW)
            modal = app.screen
            shown = modal.query_one("#outbound-text").text
            assert "Alice" not in shown and "Smith" not in shown and "<PERSON_1>" in shown
            assert remote.requests == []  # nothing has left yet
            modal.query_one("#outbound-text").text = shown + " Reply briefly."  # the user edits it
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: not chat.busy, timeout=SLOW)
            (request,) = remote.requests
            assert request.user_text() == shown + " Reply briefly."
            turn = chat.conversation.turns[-1]
            assert [o.body for o in turn.outbound] == [request.body.decode()]
            assert turn.plan.remote
            assert ("<PERSON_1>", "PERSON") in turn.replacements
            panel = render_privacy(turn).plain
            assert "1 request(s) left this device" in panel and NOTHING_LEFT not in panel
            assert request.body.decode() in panel  # byte for byte
            assert turn.replies and "Search the records" in turn.replies[0] and turn.replies[0] in panel
            assert app.prefs.remote_confirmed
            # Confirmation is for the first remote use: the next question goes without a dialog.
            await _submit(pilot, chat, "And who referred me to Dr Alice Smith?")
            await wait_until(pilot, lambda: not chat.busy, timeout=SLOW)
            assert len(remote.requests) == 2
            assert "Alice" not in remote.requests[1].body.decode()

    asyncio.run(scenario())


def test_cancel_in_the_confirm_dialog_sends_nothing(
    remote_settings: Settings, remote: RemoteStandin, fake_model: Any
) -> None:
    async def scenario() -> None:
        app = _app(remote_settings, fake_model)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen))
            chat = app.screen
            await _submit(pilot, chat, QUESTION)
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmSendModal), timeout=SLOW)
            await pilot.press("escape")
            await wait_until(pilot, lambda: not chat.busy, timeout=SLOW)
            turn = chat.conversation.turns[-1]
            assert remote.requests == []
            assert turn.outbound == [] and not turn.plan.remote
            assert NOTHING_LEFT in render_privacy(turn).plain
            assert any("cancelled" in n for n in turn.notices)
            assert not app.prefs.remote_confirmed

    asyncio.run(scenario())
