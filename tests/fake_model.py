"""FakeChatModel: a scripted stand-in for tests of the pipeline's and the TUI's logic (no weights).

Named as a fake on purpose: tests that prove the real model path works load the bundled SmolLM2
(`small_model` in conftest.py). Like llm's MockModel: `enqueue()` replies, read `history`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from models.base import CancelToken, ChatModel, Message, SamplingParams, StreamStats, TokenDelta

Reply = str | dict[str, Any] | Callable[[Sequence[Message]], str]


class FakeChatModel(ChatModel):
    """Replies come from a queue (then `default`); each reply streams word by word.

    A dict reply is sent as JSON; a callable gets the messages. With a JSON schema and an empty queue,
    the reply is the smallest object the schema accepts. `delay` slows each token (to test cancelling).
    """

    backend_name = "fake"

    def __init__(
        self,
        replies: Sequence[Reply] = (),
        *,
        default: str = "A scripted answer from the fake model.",
        name: str = "fake-chat-model",
        window: int = 4096,
        delay: float = 0.0,
    ) -> None:
        self.name = name
        self.default = default
        self.delay = delay
        self._window = window
        self._queue: deque[Reply] = deque(replies)
        self._lock = threading.Lock()
        self.history: list[list[Message]] = []  # every prompt, in order
        self.schemas: list[dict[str, Any] | None] = []

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    @property
    def context_window(self) -> int:
        return self._window

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(
        self,
        messages: Sequence[Message],
        params: SamplingParams = SamplingParams(),
        *,
        json_schema: dict[str, Any] | None = None,
        cancel: CancelToken | None = None,
        stats: StreamStats | None = None,
    ) -> Iterator[TokenDelta]:
        with self._lock:
            self.history.append(list(messages))
            self.schemas.append(json_schema)
            reply = self._queue.popleft() if self._queue else None
        text = self._text(reply, messages, json_schema)
        words = text.split(" ")
        if stats is not None:
            stats.prompt_tokens = sum(self.count_tokens(m.content) for m in messages)
        for i, word in enumerate(words[: params.max_tokens]):
            if cancel is not None and cancel.cancelled:
                yield TokenDelta("", "cancelled")
                return
            if self.delay:
                time.sleep(self.delay)
            if stats is not None:
                stats.completion_tokens += 1
            last = i == len(words) - 1
            yield TokenDelta(word + ("" if last else " "), "stop" if last else None)
        if len(words) > params.max_tokens:
            yield TokenDelta("", "length")

    def _text(self, reply: Reply | None, messages: Sequence[Message], schema: dict[str, Any] | None) -> str:
        if callable(reply):
            return reply(messages)
        if isinstance(reply, dict):
            return json.dumps(reply)
        if reply is not None:
            return reply
        return json.dumps(smallest(schema)) if schema is not None else self.default


def smallest(schema: dict[str, Any]) -> Any:
    """The smallest value a (simple) JSON schema accepts: required keys with empty values."""
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {key: smallest(props.get(key, {})) for key in schema.get("required", [])}
    if kind == "array":
        return [smallest(schema.get("items", {})) for _ in range(int(schema.get("minItems", 0)))]
    if kind == "string":
        return "x" * int(schema.get("minLength", 0))
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    if "enum" in schema:
        return schema["enum"][0]
    return None
