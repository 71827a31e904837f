"""Messages screens post to the app instead of reaching into it."""

from __future__ import annotations

from textual.message import Message


class ErrorRaised(Message):
    """Something failed; the app shows it in its one error dialog."""

    def __init__(self, error: BaseException | None) -> None:
        super().__init__()
        self.error = error
