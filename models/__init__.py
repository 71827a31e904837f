"""Local chat-model runtimes behind one interface (`ChatModel`), chosen by name through a lazy registry."""

from models.base import (
    CancelToken,
    ChatModel,
    Completion,
    Message,
    SamplingParams,
    TokenDelta,
)

__all__ = ["CancelToken", "ChatModel", "Completion", "Message", "SamplingParams", "TokenDelta"]
