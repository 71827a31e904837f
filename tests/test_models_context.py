"""The context-window policy on its own (a word counter stands in for a tokenizer: pure logic)."""

from __future__ import annotations

from models.base import Message
from models.context import PER_MESSAGE_OVERHEAD, fit_messages, output_budget


def words(text: str) -> int:
    return len(text.split())


def size(messages: list[Message]) -> int:
    return sum(words(m.content) + PER_MESSAGE_OVERHEAD for m in messages)


def test_output_budget_honours_small_requests_and_caps_large_ones() -> None:
    assert output_budget(2048, 4) == 4
    assert output_budget(2048, 512) == 512
    assert output_budget(2048, 5000) == 1024
    assert output_budget(2, 0) == 1


def test_conversation_that_fits_is_untouched() -> None:
    msgs = [Message("system", "be brief"), Message("user", "hello there")]
    fitted, trimmed = fit_messages(msgs, 100, words)
    assert fitted == msgs and not trimmed


def test_oldest_turns_go_first_system_and_last_stay() -> None:
    history = [Message("user" if i % 2 else "assistant", f"turn {i} " + "x " * 20) for i in range(10)]
    msgs = [Message("system", "rules"), *history, Message("user", "the question")]
    fitted, trimmed = fit_messages(msgs, 80, words)
    assert trimmed
    assert fitted[0].content == "rules" and fitted[-1].content == "the question"
    assert size(fitted) <= 80
    kept = [m.content.split()[1] for m in fitted[1:-1]]
    assert kept == sorted(kept, key=int) and (not kept or kept[-1] == "9")  # the newest turns survive


def test_one_huge_message_is_cut_in_the_middle() -> None:
    text = "START " + "filler " * 5000 + "END"
    fitted, trimmed = fit_messages([Message("user", text)], 300, words)
    assert trimmed and size(fitted) <= 300
    content = fitted[0].content
    assert content.startswith("START") and content.endswith("END")
    assert "omitted to fit the context window" in content
