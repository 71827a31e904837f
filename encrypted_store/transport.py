"""Connection bookkeeping and TLS for the store server (stdlib only)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from pathlib import Path


class Connections:
    """Open connections, idle (no authenticated request in progress) or busy.

    At the cap, a new connection evicts the longest-idle one (its socket is shut down, which ends the
    thread waiting on it), so connections without a token can never hold the server; it is refused
    only when every connection is busy with an authenticated request.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._lock = threading.Lock()
        self._idle: dict[socket.socket, float] = {}
        self._busy: set[socket.socket] = set()

    def admit(self, sock: socket.socket) -> bool:
        with self._lock:
            if len(self._idle) + len(self._busy) >= self.cap:
                if not self._idle:
                    return False
                victim = min(self._idle, key=self._idle.__getitem__)
                del self._idle[victim]
                with contextlib.suppress(OSError):  # the plain socket call: wakes a blocked TLS read too
                    socket.socket.shutdown(victim, socket.SHUT_RDWR)
            self._idle[sock] = time.monotonic()
            return True

    def mark_busy(self, sock: socket.socket) -> bool:
        """False when the connection was evicted meanwhile."""
        with self._lock:
            if self._idle.pop(sock, None) is None:
                return False
            self._busy.add(sock)
            return True

    def mark_idle(self, sock: socket.socket) -> None:
        with self._lock:
            if sock in self._busy:
                self._busy.discard(sock)
                self._idle[sock] = time.monotonic()

    def release(self, sock: socket.socket) -> None:
        with self._lock:
            self._idle.pop(sock, None)
            self._busy.discard(sock)

    def count(self) -> int:
        with self._lock:
            return len(self._idle) + len(self._busy)


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server-side TLS context (TLS 1.2 or newer) from PEM files."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert), str(key))
    return ctx
