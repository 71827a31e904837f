"""One question through the pipeline, streamed as events the CLI and the TUI both consume."""

from __future__ import annotations

from collections.abc import Iterator

from assistant.pipeline.events import Done, Event, PlanReady
from assistant.pipeline.types import Answer, Plan
from models.base import CancelToken, ChatModel, Message, SamplingParams

SYSTEM_PROMPT = (
    "You are a private assistant running on the user's own device. Answer concisely. "
    "If you do not know, say so."
)


def ask_stream(
    question: str,
    model: ChatModel,
    *,
    params: SamplingParams = SamplingParams(),
    cancel: CancelToken | None = None,
) -> Iterator[Event]:
    """Answer `question` with the local model alone (no records, no remote)."""
    plan = Plan(remote=False, guidance="")
    yield PlanReady(plan)
    messages = [Message("system", SYSTEM_PROMPT), Message("user", question)]
    parts: list[str] = []
    finish = "stop"
    for delta in model.stream(messages, params, cancel=cancel):
        parts.append(delta.text)
        if delta.finish_reason:
            finish = delta.finish_reason
        yield delta
    yield Done(Answer("".join(parts).strip(), plan=plan, finish_reason=finish))
