"""The remote planner: an OpenAI-compatible chat-completions call that sees only sanitized text.

Every attempt passes the outbound guard first and is written to the ledger, sent or refused. Any failure
(network, HTTP status, timeout, malformed or oversized reply, wrong types) raises PlanError; the session
then plans locally and says why.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from assistant.config import Settings
from assistant.pipeline.guard import OutboundGuard
from assistant.pipeline.ledger import Ledger
from assistant.pipeline.plan import PLAN_SCHEMA, PLANNER_SYSTEM, PlanError, parse_plan
from assistant.pipeline.types import Outbound

MAX_REPLY_BYTES = 256_000
RETRYABLE = {408, 409, 425, 429, 500, 502, 503, 504}


@dataclass
class RemotePlanner:
    settings: Settings
    guard: OutboundGuard
    ledger: Ledger | None = None
    sent: list[Outbound] = field(default_factory=list)  # this question's outbound bodies

    @property
    def url(self) -> str:
        return (self.settings.remote_url or "").rstrip("/") + "/chat/completions"

    def body(self, question: str, history: Sequence[str] = (), *, schema: bool = True) -> str:
        """The exact JSON text that would be sent for `question` (already sanitized)."""
        messages: list[dict[str, str]] = [{"role": "system", "content": PLANNER_SYSTEM}]
        messages += [{"role": "user", "content": f"Earlier question: {h}"} for h in history[-3:]]
        messages.append({"role": "user", "content": question})
        payload: dict[str, Any] = {
            "model": self.settings.remote_model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": 600,
        }
        if schema:
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "plan", "strict": True, "schema": PLAN_SCHEMA},
            }
        return json.dumps(payload, ensure_ascii=False)

    def plan(self, question: str, history: Sequence[str] = ()) -> tuple[str, tuple[str, ...]]:
        """(guidance, sub_queries) from the remote model, at most two attempts.

        Raises:
            OutboundRefused: the guard stopped the request (nothing was sent).
            PlanError: the remote failed or replied with something unusable.
        """
        body = self.body(question, history)
        try:
            return self._attempt(body)
        except _Retry as first:
            # One retry: the same body after a transient failure, or without response_format when the
            # endpoint rejected the schema (a 400 from servers that lack structured output).
            retry_body = self.body(question, history, schema=False) if first.drop_schema else body
            try:
                return self._attempt(retry_body)
            except _Retry as second:
                raise PlanError(second.reason, "") from None

    def _attempt(self, body: str) -> tuple[str, tuple[str, ...]]:
        try:
            self.guard.check(body)
        except Exception as exc:
            if self.ledger is not None:
                self.ledger.append(self.url, body, "refused", note=str(getattr(exc, "title", exc)))
            raise
        headers = {"Content-Type": "application/json"}
        if self.settings.remote_api_key is not None:
            headers["Authorization"] = f"Bearer {self.settings.remote_api_key.get_secret_value()}"
        self.sent.append(Outbound(self.url, body))
        timeout = httpx.Timeout(self.settings.remote_timeout_s)
        try:
            with (
                httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client,
                client.stream("POST", self.url, content=body.encode(), headers=headers) as resp,
            ):
                raw = _read_capped(resp)
                status = resp.status_code
        except PlanError as exc:  # sent, but the reply was too large to read
            self._log(body, "sent", note=exc.title)
            raise
        except httpx.TimeoutException:
            self._log(body, "failed", note="timeout")
            raise _Retry(
                f"The remote planner timed out after {self.settings.remote_timeout_s:g} s."
            ) from None
        except httpx.HTTPError as exc:
            self._log(body, "failed", note=type(exc).__name__)
            raise _Retry(f"The remote planner is unreachable ({type(exc).__name__}).") from None
        text = raw.decode("utf-8", "replace")
        self._log(body, "sent", reply=text, note=f"HTTP {status}")
        if status != 200:
            reason = f"The remote planner answered HTTP {status}."
            if status in RETRYABLE:
                raise _Retry(reason)
            if status in (400, 422) and '"response_format"' in body:
                raise _Retry(reason, drop_schema=True)
            raise PlanError(reason, "")
        return parse_plan(_content(text))

    def _log(self, body: str, status: str, *, reply: str = "", note: str = "") -> None:
        if self.ledger is not None:
            self.ledger.append(self.url, body, status, reply=reply, note=note)  # type: ignore[arg-type]


class _Retry(Exception):
    def __init__(self, reason: str, *, drop_schema: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.drop_schema = drop_schema


def _read_capped(resp: httpx.Response) -> bytes:
    chunks, size = [], 0
    for chunk in resp.iter_bytes():
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise PlanError(f"The remote reply is larger than {MAX_REPLY_BYTES // 1000} KB.", "")
        chunks.append(chunk)
    return b"".join(chunks)


def _content(text: str) -> Any:
    """choices[0].message.content of a chat-completions reply."""
    try:
        reply = json.loads(text)
        content = reply["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise PlanError("The remote reply is not a chat completion.", "") from None
    if not isinstance(content, str | dict):
        raise PlanError("The remote reply's content is not text.", "")
    return content
