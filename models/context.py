"""Context-window policy: make any conversation fit the window instead of failing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from models.base import Message

PER_MESSAGE_OVERHEAD = 8  # role headers and separators of common chat templates
OMISSION = "\n[... {n} characters omitted to fit the context window ...]\n"


def output_budget(context_window: int, max_tokens: int) -> int:
    """Tokens to reserve for the reply: what was asked, but never more than half the window."""
    return max(1, min(max_tokens, context_window // 2))


def fit_messages(
    messages: Sequence[Message],
    prompt_budget: int,
    count_tokens: Callable[[str], int],
) -> tuple[list[Message], bool]:
    """Return messages whose prompt fits `prompt_budget` tokens, and whether anything was cut.

    Drops the oldest turns first (the system message and the last message stay), then shortens
    the longest remaining message in its middle, where text is least likely to matter.
    """
    msgs = list(messages)

    def total(ms: list[Message]) -> int:
        return sum(count_tokens(m.content) + PER_MESSAGE_OVERHEAD for m in ms)

    if total(msgs) <= prompt_budget:
        return msgs, False
    keep_first = 1 if msgs and msgs[0].role == "system" else 0
    while len(msgs) > keep_first + 1 and total(msgs) > prompt_budget:
        del msgs[keep_first]
    for _ in range(12):
        size = total(msgs)
        if size <= prompt_budget:
            break
        longest = max(range(len(msgs)), key=lambda i: len(msgs[i].content))
        msgs[longest] = _shorten(msgs[longest], size - prompt_budget, count_tokens)
    return msgs, True


def _shorten(message: Message, excess_tokens: int, count_tokens: Callable[[str], int]) -> Message:
    """Cut `excess_tokens` (plus the marker's own) out of the middle; head and tail stay."""
    text = message.content
    tokens = max(1, count_tokens(text))
    marker_tokens = count_tokens(OMISSION.format(n=len(text)))
    keep_tokens = tokens - excess_tokens - marker_tokens
    if keep_tokens <= 0:
        return replace(message, content="")
    keep = int(len(text) * keep_tokens / tokens * 0.95)  # a margin for uneven token density
    head = keep // 2
    tail = keep - head
    shortened = text[:head] + OMISSION.format(n=len(text) - keep) + (text[-tail:] if tail else "")
    return replace(message, content=shortened)
