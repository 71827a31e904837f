"""`assistant store serve`: the untrusted store host over HTTP (stdlib server, one thread per request).

It holds ciphertexts, HMAC tags and sealed blobs, never a key. Every request needs the bearer token
(compared in constant time); bodies above `max_body` are refused before they are read.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import AssistantError
from encrypted_store import wire
from encrypted_store.backend import LocalHost
from encrypted_store.host import HOST_METHODS, StoreHost, decode, encode

log = logging.getLogger(__name__)
DEFAULT_MAX_BODY = 256 * 1024 * 1024  # a few 25 MB blocks or encrypted queries per request
Reply = tuple[dict[str, Any], dict[str, np.ndarray]]


def _dispatch(host: StoreHost) -> dict[str, Callable[[dict[str, Any], dict[str, np.ndarray]], Reply]]:
    """Method name -> handler(header, arrays) -> (header, arrays), for every `StoreHost` method.

    Arguments travel as keyword arguments in the host's typed encoding; unknown or missing ones are a
    TypeError (a 400). The host itself checks shapes and ranges against its own parameters.
    """

    def handler(name: str) -> Callable[[dict[str, Any], dict[str, np.ndarray]], Reply]:
        method = getattr(host, name)

        def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Reply:
            kwargs = decode(header.get("args") or {}, arrays)
            if not isinstance(kwargs, dict):
                raise TypeError("arguments must be an object")
            out: dict[str, np.ndarray] = {}
            try:
                result = encode(method(**kwargs), out)
            except (OverflowError, RecursionError, AttributeError, IndexError) as exc:  # a bad value: a 400
                raise ValueError(type(exc).__name__) from None
            return {"result": result}, out

        return run

    return {name: handler(name) for name in HOST_METHODS}


class StoreServer(ThreadingHTTPServer):
    """A bound server (call serve_forever()); port 0 picks a free port (see server_address).

    threads: cores a scan may use (default: all).
    """

    daemon_threads = True

    def __init__(
        self,
        db_path: Path,
        host: str,
        port: int,
        token: str,
        max_body: int = DEFAULT_MAX_BODY,
        threads: int | None = None,
    ):
        self.backend = LocalHost(db_path, threads)
        self.methods = _dispatch(self.backend)
        self.token = token.encode()
        self.max_body = max_body
        super().__init__((host, port), _Handler)

    def server_close(self) -> None:
        super().server_close()
        self.backend.close()


class _Handler(BaseHTTPRequestHandler):
    server: StoreServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("store server: " + format, *args)  # method and status only; bodies are never logged

    def _send(self, status: int, body: bytes, ctype: str = "application/octet-stream") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, title: str, next_step: str = "") -> None:
        self.close_connection = True
        self._send(status, json.dumps({"title": title, "next_step": next_step}).encode(), "application/json")

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        auth = self.headers.get("Authorization", "")
        if not hmac.compare_digest(auth.encode(), b"Bearer " + self.server.token):
            return self._error(
                401, "Missing or wrong bearer token.", "Set ASSISTANT_STORE_TOKEN to the server's token."
            )
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._error(411, "Content-Length required.")
        if length < 0 or length > self.server.max_body:
            return self._error(
                413, f"Request body too large ({length} bytes).", "Send fewer records per call."
            )
        name = self.path.removeprefix("/v1/")
        handler = self.server.methods.get(name)
        body = self.rfile.read(length)
        if handler is None:
            return self._error(404, f"Unknown store method {name!r}.")
        try:
            header, arrays = wire.unpack(body)
            reply = wire.pack(*handler(header, arrays))
        except AssistantError as exc:
            return self._error(400, exc.title, exc.next_step)
        except (KeyError, TypeError, ValueError) as exc:
            return self._error(
                400, f"Bad request ({type(exc).__name__}).", "Check client and server versions."
            )
        self._send(200, reply)


serve = StoreServer  # the name callers use: a bound server, ready for serve_forever()
