"""A conversation turn on screen: the question, then the answer streamed in as Markdown.

Tokens are appended through Textual's `MarkdownStream`, which batches fragments and re-parses only
the last block, so a long answer is never re-rendered whole for each token.
"""

from __future__ import annotations

import re

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream

from assistant.conversations import Turn

CITATION = re.compile(r"\[(\d{1,2})\](?!\()")


def link_citations(text: str, n_sources: int) -> str:
    """Turn `[2]` into a link that opens source 2; numbers without a source stay plain text."""

    def repl(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return f"[\\[{n}\\]](source:{n})" if 1 <= n <= n_sources else match.group(0)

    return CITATION.sub(repl, text)


class QuestionView(Static):
    """The user's question, as typed (markup off: it is user text)."""

    def __init__(self, question: str) -> None:
        super().__init__(question, markup=False, classes="question")


class AnswerView(Vertical):
    """The answer to one turn; click it to show its privacy and sources panels."""

    class Selected(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, index: int, *, local_only: bool = True) -> None:
        super().__init__(classes="answer")
        self.index = index
        self._stream: MarkdownStream | None = None
        self._streamed: list[str] = []
        self._local_only = local_only

    def compose(self) -> ComposeResult:
        yield Markdown("", classes="answer-body", open_links=False)
        yield Static("thinking…", classes="answer-status", markup=False)

    @property
    def body(self) -> Markdown:
        return self.query_one(Markdown)

    @property
    def streamed_text(self) -> str:
        return "".join(self._streamed)

    def set_status(self, text: str) -> None:
        self.query_one(".answer-status", Static).update(text)

    async def write(self, fragment: str) -> None:
        if self._stream is None:
            self._stream = Markdown.get_stream(self.body)
            self.set_status("answering…  (Esc to stop)")
        self._streamed.append(fragment)
        await self._stream.write(fragment)

    async def finish(self, turn: Turn) -> None:
        """Stop streaming and show the final text once, with citations linked to the sources."""
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        await self.show(turn)

    async def show(self, turn: Turn) -> None:
        text = turn.answer or self.streamed_text.strip()
        await self.body.update(link_citations(text, len(turn.sources)) or "_(no answer)_")
        self.set_status(status_line(turn))

    def on_click(self) -> None:
        self.post_message(self.Selected(self.index))


def status_line(turn: Turn) -> str:
    parts = []
    if turn.finish_reason == "cancelled":
        parts.append("stopped by you (partial answer)")
    elif turn.finish_reason == "length":
        parts.append("cut off at the length limit")
    if turn.sources:
        parts.append(f"{len(turn.sources)} source(s)")
    parts.append(
        f"sent {len(turn.outbound)} sanitized request(s)" if turn.left_device else "nothing left this device"
    )
    parts.append("planner: remote" if turn.plan.remote else "planner: local")
    return " · ".join(parts)
