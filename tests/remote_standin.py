"""A real OpenAI-compatible HTTP server on 127.0.0.1 standing in for the remote planner.

It records every request (path, headers, exact body) and answers from a queue of scripted replies, or
from a responder function. Reusable by any test: `with RemoteStandin() as remote: ... remote.url`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """What the server answers: a chat completion with `content`, or a raw `body`, after `delay_s`."""

    content: str | None = None
    status: int = 200
    body: bytes | None = None
    delay_s: float = 0.0


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def user_text(self) -> str:
        """The last user message's content."""
        return [m["content"] for m in self.json()["messages"] if m["role"] == "user"][-1]


def plan_reply(guidance: str, sub_queries: list[str], **kwargs: Any) -> Reply:
    return Reply(json.dumps({"guidance": guidance, "sub_queries": sub_queries}), **kwargs)


def echo_plan(request: RecordedRequest) -> Reply:
    """Default: a plan whose one sub-query is the question as received."""
    return plan_reply("Search the records for the question's key terms.", [request.user_text()[:150]])


def completion(content: str) -> bytes:
    return json.dumps(
        {
            "id": "standin-1",
            "object": "chat.completion",
            "model": "standin",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
            ],
        }
    ).encode()


@dataclass
class RemoteStandin:
    responder: Callable[[RecordedRequest], Reply] = echo_plan
    replies: list[Reply] = field(default_factory=list)  # scripted replies, used first, in order
    requests: list[RecordedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                req = RecordedRequest("POST", self.path, dict(self.headers), self.rfile.read(length))
                with standin._lock:
                    standin.requests.append(req)
                    reply = standin.replies.pop(0) if standin.replies else None
                if reply is None:
                    reply = standin.responder(req)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                payload = reply.body if reply.body is not None else completion(reply.content or "")
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args: Any) -> None:
                """Quiet: tests read `requests` instead."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def start(self) -> RemoteStandin:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for serve_forever, which must be running
            self._server.shutdown()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> RemoteStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
