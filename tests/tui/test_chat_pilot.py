"""The chat app driven by Textual's pilot, answering with the real bundled SmolLM2 on llama.cpp."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual.widgets import Markdown

from assistant.config import Settings
from assistant.conversations import ConversationStore
from assistant.tui.app import AssistantApp
from assistant.tui.screens.chat import ChatScreen
from assistant.tui.screens.conversations import ConversationsScreen
from assistant.tui.widgets.panels import NOTHING_LEFT, PrivacyPanel
from assistant.tui.widgets.prompt import PromptInput
from assistant.tui.widgets.turns import AnswerView, QuestionView
from assistant.wiring import unlock
from models.base import SamplingParams
from tests.fake_model import FakeChatModel
from tests.tui.conftest import PASSPHRASE, type_text, wait_until

pytestmark = pytest.mark.slow
QUESTION = "What is the capital of France?"


def _app(settings: Settings, ring: Any, model: Any, max_tokens: int = 40) -> AssistantApp:
    return AssistantApp(settings, keyring=ring, model=model, params=SamplingParams(max_tokens=max_tokens))


def _privacy_text(chat: ChatScreen) -> str:
    return str(chat.query_one(PrivacyPanel).query_one("#privacy-body").render())


async def _ask(pilot: Any, app: AssistantApp, question: str) -> ChatScreen:
    await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen))
    chat = app.screen
    assert isinstance(chat, ChatScreen)
    await type_text(pilot, question)
    # What Enter does; pilot.press("enter") would wait for the whole answer (the app is never idle).
    await chat.query_one(PromptInput).action_submit()
    await wait_until(pilot, lambda: chat.busy)
    return chat


def test_answer_streams_in_and_nothing_leaves(
    settings: Settings, ring: Any, small_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    appended: list[tuple[int, bool]] = []  # (fragment length, still generating)
    updates: list[int] = []
    real_append, real_update = Markdown.append, Markdown.update

    def spy_append(self: Markdown, fragment: str) -> Any:
        appended.append((len(fragment), bool(getattr(self.screen, "busy", False))))
        return real_append(self, fragment)

    def spy_update(self: Markdown, markdown: str) -> Any:
        updates.append(len(markdown))
        return real_update(self, markdown)

    monkeypatch.setattr(Markdown, "append", spy_append)
    monkeypatch.setattr(Markdown, "update", spy_update)

    async def scenario() -> None:
        app = _app(settings, ring, small_model)
        async with app.run_test(size=(120, 40)) as pilot:
            chat = await _ask(pilot, app, QUESTION)
            view = chat.query(AnswerView).last()
            await wait_until(pilot, lambda: not chat.busy)
            turn = chat.conversation.turns[-1]
            assert turn.answer.strip()
            assert len(view._streamed) > 3  # token by token, not one block
            # Streaming appended small fragments while the model was generating, and the whole
            # message was rendered once at the end (citations linked), not once per token.
            assert len(appended) >= 2 and sum(1 for _, live in appended if live) >= 2
            assert max(n for n, _ in appended) < len(turn.answer)
            assert len(updates) <= 3
            assert "".join(view._streamed).strip() == turn.answer
            assert turn.finish_reason in ("stop", "length")
            assert str(chat.query(QuestionView).last().render()) == QUESTION
            assert NOTHING_LEFT in _privacy_text(chat)
            assert "nothing left this device" in str(view.query_one(".answer-status").render())
            # Input history: Up brings the last question back.
            prompt = chat.query_one(PromptInput)
            assert prompt.value == ""
            await pilot.press("up")
            assert prompt.value == QUESTION
            await pilot.press("down")
            assert prompt.value == ""
        stored = ConversationStore(settings.home / "conversations", ring).list_all()
        assert [t.answer for t in stored[0].turns] == [turn.answer]

    asyncio.run(scenario())


def test_escape_stops_generation_and_restores_the_prompt(settings: Settings, ring: Any) -> None:
    slow = FakeChatModel(default=" ".join(["word"] * 400), delay=0.02)  # a long answer, token by token

    async def scenario() -> None:
        app = _app(settings, ring, slow, max_tokens=400)
        async with app.run_test(size=(120, 40)) as pilot:
            chat = await _ask(pilot, app, "Write a long story about a lighthouse keeper.")
            view = chat.query(AnswerView).last()
            await wait_until(pilot, lambda: len(view._streamed) >= 3)
            await pilot.press("escape")
            await wait_until(pilot, lambda: not chat.busy, timeout=20)
            turn = chat.conversation.turns[-1]
            assert turn.finish_reason == "cancelled"
            assert 3 <= len(view._streamed) < 400
            assert chat.query_one(PromptInput).value == "Write a long story about a lighthouse keeper."
            assert "stopped by you" in str(view.query_one(".answer-status").render())

    asyncio.run(scenario())


def test_resume_a_saved_conversation_after_a_restart(
    settings: Settings, keyfile: Any, small_model: Any
) -> None:
    async def first_run() -> str:
        app = _app(settings, unlock(settings, PASSPHRASE), small_model)
        async with app.run_test(size=(120, 40)) as pilot:
            chat = await _ask(pilot, app, QUESTION)
            await wait_until(pilot, lambda: not chat.busy)
            return chat.conversation.turns[-1].answer

    async def second_run(expected: str) -> None:
        app = _app(settings, unlock(settings, PASSPHRASE), small_model)  # a fresh unlock, new process state
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen))
            chat = app.screen
            assert isinstance(chat, ChatScreen)
            assert not chat.query(AnswerView)
            await pilot.press("ctrl+o")
            await wait_until(pilot, lambda: isinstance(app.screen, ConversationsScreen) and app.screen.items)
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.screen is chat and bool(chat.query(AnswerView)))
            assert str(chat.query(QuestionView).first().render()) == QUESTION
            await pilot.pause(0.2)
            assert chat.query(AnswerView).first().body.source.strip() == expected
            assert NOTHING_LEFT in _privacy_text(chat)
            assert chat.sub_title == QUESTION

    answer = asyncio.run(first_run())
    assert answer
    asyncio.run(second_run(answer))
