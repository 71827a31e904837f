"""`assistant store serve`: the untrusted store host over HTTP (stdlib server, one thread per request).

It holds ciphertexts, HMAC tags and sealed blobs, never a key. Every request needs the bearer token
(compared in constant time); bodies above `max_body` are refused before they are read; every argument
is decoded and checked (`limits.py`) before the host sees it. Optional TLS (stdlib ssl), a timeout per
connection and a cap on open connections that unauthenticated ones cannot fill.
"""

from __future__ import annotations

import hmac
import json
import logging
import ssl
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from encrypted_store import wire
from encrypted_store.backend import LocalHost
from encrypted_store.errors import StoreError
from encrypted_store.host import HOST_METHODS, StoreHost, encode
from encrypted_store.limits import Limits, RequestError, check_request
from encrypted_store.transport import Connections

log = logging.getLogger(__name__)
DEFAULT_MAX_BODY = 256 * 1024 * 1024  # a few 25 MB blocks or encrypted queries per request
Reply = tuple[dict[str, Any], dict[str, np.ndarray]]


def _dispatch(
    host: StoreHost, limits: Limits
) -> dict[str, Callable[[dict[str, Any], dict[str, np.ndarray]], Reply]]:
    """Method name -> handler(header, arrays) -> (header, arrays), for every `StoreHost` method.

    Arguments travel as keyword arguments in the host's typed encoding; `limits.check_request`
    decodes and checks them (a RequestError, answered 400) before the host sees them. The host itself
    checks what only it knows (the store's dimension and prime).
    """

    def handler(name: str) -> Callable[[dict[str, Any], dict[str, np.ndarray]], Reply]:
        method = getattr(host, name)

        def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Reply:
            kwargs = check_request(name, header, arrays, limits)
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

    threads: cores a scan may use (default: all). scan_device: None for the numpy scan, "cpu" or
    "cuda" for the torch scan with the blocks resident on that device. tls: serve https (see
    `transport.tls_context`). max_connections: open connections at once (idle ones are evicted
    first); conn_timeout: seconds a connection may stay silent, mid-request or between requests,
    before it is closed.
    """

    daemon_threads = True
    request_queue_size = 128

    def __init__(
        self,
        db_path: Path,
        host: str,
        port: int,
        token: str,
        max_body: int = DEFAULT_MAX_BODY,
        threads: int | None = None,
        scan_device: str | None = None,
        *,
        tls: ssl.SSLContext | None = None,
        max_connections: int = 64,
        conn_timeout: float = 30.0,
        limits: Limits | None = None,
    ):
        self.backend = LocalHost(db_path, threads, scan_device)
        self.limits = limits or Limits()
        self.methods = _dispatch(self.backend, self.limits)
        self.token = token.encode()
        self.max_body = max_body
        self.conn_timeout = conn_timeout
        self.connections = Connections(max(1, max_connections))
        super().__init__((host, port), _Handler)
        if tls is not None:  # the handshake runs in the connection's thread, under its timeout
            self.socket = tls.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.scheme = "https" if tls is not None else "http"

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.connections.admit(request):
            self.shutdown_request(request)  # every slot busy with an authenticated request
            return
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.connections.release(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("store server: connection from %s ended with an error", client_address, exc_info=True)

    def server_close(self) -> None:
        super().server_close()
        self.backend.close()


class _Handler(BaseHTTPRequestHandler):
    server: StoreServer
    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.0"  # a garbled request line still gets a status line back

    def setup(self) -> None:
        self.timeout = self.server.conn_timeout
        super().setup()
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("store server: " + format, *args)  # method and status only; bodies are never logged

    def _send(self, status: int, body: bytes, ctype: str = "application/octet-stream") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:  # the client must not reuse it (its body may be unread)
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, title: str, next_step: str = "") -> None:
        self.close_connection = True
        self._send(status, json.dumps({"title": title, "next_step": next_step}).encode(), "application/json")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's own refusals (bad request line, headers too long) in the JSON error format."""
        self._error(code, message or "Bad request.", "Store requests are POST /v1/<method>.")

    def _not_allowed(self) -> None:
        self._error(405, f"Method {self.command} is not allowed.", "Store requests are POST /v1/<method>.")

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _not_allowed  # noqa: N815

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        auth = self.headers.get("Authorization", "")
        if not hmac.compare_digest(auth.encode("utf-8", "replace"), b"Bearer " + self.server.token):
            return self._error(
                401, "Missing or wrong bearer token.", "Send the token this server printed when it started."
            )
        if not self.server.connections.mark_busy(self.request):
            self.close_connection = True
            return  # evicted while its headers were read
        try:
            self._authenticated()
        finally:
            self.server.connections.mark_idle(self.request)

    def _authenticated(self) -> None:
        if self.headers.get("Transfer-Encoding"):
            return self._error(411, "Chunked bodies are not accepted.", "Send a Content-Length.")
        raw = self.headers.get("Content-Length", "")
        if not raw.isdigit():
            return self._error(411, "Content-Length required (a non-negative integer).")
        length = int(raw)
        if length > self.server.max_body:
            return self._error(
                413, f"Request body too large ({length} bytes).", "Send fewer records per call."
            )
        name = self.path.removeprefix("/v1/")
        handler = self.server.methods.get(name)
        if handler is None:
            return self._error(404, f"Unknown store method {name[:64]!r}.")
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            return self._error(408, "The request body did not arrive in time.", "Check the network.")
        if len(body) != length:
            self.close_connection = True
            return  # the client went away mid-body: nobody to answer
        try:
            header, arrays = wire.unpack(body)
            reply = wire.pack(*handler(header, arrays))
        except RequestError as exc:
            return self._error(400, exc.title, exc.next_step)
        except StoreError as exc:
            return self._error(400, exc.message, exc.hint)
        except (KeyError, TypeError, ValueError, OverflowError, IndexError) as exc:
            return self._error(
                400, f"Bad request ({type(exc).__name__}).", "Check client and server versions."
            )
        if len(reply) > self.server.limits.max_reply:
            return self._error(
                413, f"The reply would be too large ({len(reply)} bytes).", "Ask for less per call."
            )
        self._send(200, reply)


serve = StoreServer  # the name callers use: a bound server, ready for serve_forever()
