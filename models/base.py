"""The contract every local model backend implements: typed messages in, typed token deltas out."""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from models.errors import ModelError

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class SamplingParams:
    """Sampling knobs shared by every backend; `seed` makes output reproducible."""

    max_tokens: int = 512
    temperature: float = 0.2
    top_p: float = 0.95
    top_k: int = 40
    repeat_penalty: float = 1.1
    seed: int | None = 0
    stop: tuple[str, ...] = ()


GREEDY = SamplingParams(temperature=0.0, top_k=1, repeat_penalty=1.0)


@dataclass(frozen=True)
class TokenDelta:
    """One streamed piece of output; the last one carries `finish_reason`."""

    text: str
    finish_reason: Literal["stop", "length", "cancelled"] | None = None


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: Literal["stop", "length", "cancelled"]
    prompt_tokens: int
    completion_tokens: int
    trimmed: bool = False  # the prompt was shortened to fit the context window


class CancelToken:
    """Set from any thread to stop a running generation at the next token."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass
class StreamStats:
    """Filled in by `ChatModel.stream` as it runs, for callers that want counts."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    trimmed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class ChatModel(ABC):
    """A local chat model.

    Backends implement `stream`, `count_tokens` and `context_window`; everything else derives.
    Class flags tell callers (and the UI) which optional abilities exist.
    """

    supports_json_schema: ClassVar[bool] = True
    backend_name: ClassVar[str] = "base"
    name: str = "model"
    demo_quality: bool = False  # the bundled tiny model: answers are real but weak

    @property
    @abstractmethod
    def context_window(self) -> int:
        """Tokens the model can attend to (prompt plus output)."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Number of tokens `text` encodes to (no BOS)."""

    @abstractmethod
    def stream(
        self,
        messages: Sequence[Message],
        params: SamplingParams = SamplingParams(),
        *,
        json_schema: dict[str, Any] | None = None,
        cancel: CancelToken | None = None,
        stats: StreamStats | None = None,
    ) -> Iterator[TokenDelta]:
        """Yield the reply token by token.

        A prompt longer than the window is trimmed (`models.context.fit_messages`), never an error.
        With `json_schema`, output is constrained to match it. Setting `cancel` (or closing the
        iterator) stops generation; the last delta then has finish_reason "cancelled".

        Raises:
            ModelError: the backend failed while generating.
        """

    def complete(
        self,
        messages: Sequence[Message],
        params: SamplingParams = SamplingParams(),
        *,
        json_schema: dict[str, Any] | None = None,
        cancel: CancelToken | None = None,
    ) -> Completion:
        """The whole reply at once."""
        stats = StreamStats()
        parts: list[str] = []
        finish: Literal["stop", "length", "cancelled"] = "stop"
        for delta in self.stream(messages, params, json_schema=json_schema, cancel=cancel, stats=stats):
            parts.append(delta.text)
            if delta.finish_reason:
                finish = delta.finish_reason
        return Completion("".join(parts), finish, stats.prompt_tokens, stats.completion_tokens, stats.trimmed)

    def complete_json(
        self,
        messages: Sequence[Message],
        schema: dict[str, Any],
        params: SamplingParams = SamplingParams(),
    ) -> Any:
        """A reply constrained to `schema`, parsed.

        Raises:
            ModelError: the output was cut off or is not valid JSON.
        """
        done = self.complete(messages, params, json_schema=schema)
        try:
            return json.loads(done.text)
        except json.JSONDecodeError as exc:
            raise ModelError(
                f"The local model's structured output did not parse ({done.finish_reason}).",
                "Raise max_tokens, or use a larger model (llama-3.2-1b-instruct in the catalog).",
            ) from exc

    def prime(self, messages: Sequence[Message]) -> None:
        """Evaluate a prompt's fixed opening now (while other loads run), so the next reply whose
        prompt starts with it reuses the work. A no-op where the backend caches prefixes itself."""
        return None

    def close(self) -> None:
        """Release native resources; the default has none."""
