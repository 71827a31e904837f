"""A belt-and-braces network block for the note mode: transcripts never leave the device.

The note pipeline has no network code at all; this guard makes any accidental use (a library that
phones home, a future change that reaches for the remote planner) fail loudly instead of sending.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

from assistant.errors import AssistantError

_LOCAL_FAMILIES = {getattr(socket, "AF_UNIX", -1)}


class NetworkBlocked(AssistantError):
    """Something tried to open a network connection while a transcript was being processed."""


def _refuse(*_args: Any, **_kwargs: Any) -> Any:
    raise NetworkBlocked(
        "The note mode tried to open a network connection; it was blocked and nothing was sent.",
        "Report this as a bug: the note mode must stay on the device.",
    )


def _guarded(name: str) -> Any:
    original = getattr(socket.socket, name)

    def method(self: socket.socket, *args: Any) -> Any:
        if self.family in _LOCAL_FAMILIES:
            return original(self, *args)
        return _refuse()

    return method


@contextlib.contextmanager
def network_blocked() -> Iterator[None]:
    """Inside this block, internet socket connects, sends to an address, and DNS lookups raise."""
    methods = ("connect", "connect_ex", "sendto")
    own = {name: socket.socket.__dict__.get(name) for name in methods}
    saved = {name: getattr(socket, name) for name in ("create_connection", "getaddrinfo", "gethostbyname")}
    for name in methods:
        setattr(socket.socket, name, _guarded(name))
    for name in saved:
        setattr(socket, name, _refuse)
    try:
        yield
    finally:
        for name, value in own.items():
            if value is None:
                delattr(socket.socket, name)
            else:
                setattr(socket.socket, name, value)
        for name, value in saved.items():
            setattr(socket, name, value)
