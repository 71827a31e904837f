"""`HttpHost`: the `StoreHost` protocol spoken to an `assistant store serve` server over HTTP.

Transport: http or https (verified against the system's CAs, or a CA file for a self-signed server);
proxy variables (HTTPS_PROXY, ALL_PROXY, ...) and netrc are ignored, so store traffic goes straight to
the configured host. An optional `recorder` is called once per request with its method, size and
digest (never the bytes), which the app writes to its ledger.
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np

from encrypted_store import wire
from encrypted_store.errors import InputError, StoreError, TokenError, TrustError, UnreachableError
from encrypted_store.host import PlainQuery, Row, ScanResult, StateBlob, decode, encode, state_of


@dataclass(frozen=True)
class StoreRequest:
    """One request to the store server, as the ledger records it: no body, only its size and digest."""

    url: str
    method: str
    size: int  # request body bytes
    sha256: str  # hex digest of the request body
    status: int | None  # HTTP status; None when no reply came
    reply_size: int = 0
    error: str = ""


def _verify(ca_file: Path | None) -> ssl.SSLContext | bool:
    if ca_file is None:
        return True
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise TrustError(
            f"The store CA file {ca_file} cannot be used ({exc}).",
            "Pass the PEM certificate the server was started with.",
        ) from None


class HttpHost:
    """Talks to a store server; the client keeps all keys, the server sees only what it stores.

    ca_file: PEM certificate(s) to trust for an https server (default: the system's CAs).
    recorder: called after every request with a `StoreRequest` (the app's ledger).
    """

    remote = True

    def __init__(
        self,
        url: str,
        token: str | None,
        timeout: float = 120.0,
        *,
        ca_file: Path | None = None,
        recorder: Callable[[StoreRequest], None] | None = None,
    ) -> None:
        if not token:
            raise TokenError(
                "A store server is configured but no token is set.",
                "Pass the bearer token the store server printed when it started.",
            )
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(
                f"The store URL {url!r} is not an http:// or https:// URL.",
                "Use the address the store server printed when it started.",
            )
        self.url = url.rstrip("/")
        self.recorder = recorder
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"Authorization": f"Bearer {token}"},
            verify=_verify(ca_file) if parts.scheme == "https" else True,
            trust_env=False,  # no proxy variables, no netrc: store traffic goes to the host named
        )

    def _record(self, method: str, body: bytes, status: int | None, reply: int, error: str = "") -> None:
        if self.recorder is not None:
            digest = hashlib.sha256(body).hexdigest()
            self.recorder(StoreRequest(self.url, method, len(body), digest, status, reply, error))

    def _call(
        self, method: str, header: dict[str, Any] | None = None, arrays: dict[str, np.ndarray] | None = None
    ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        body = wire.pack(header or {}, arrays)
        try:
            resp = self._http.post(f"{self.url}/v1/{method}", content=body)
        except httpx.HTTPError as exc:
            self._record(method, body, None, 0, type(exc).__name__)
            if isinstance(exc, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise TrustError(
                    f"The store server at {self.url} has a certificate this client does not trust.",
                    "Pass the server's certificate (PEM) as the CA file.",
                ) from None
            raise UnreachableError(
                f"The store server at {self.url} is unreachable ({type(exc).__name__}).",
                "Start the store server, or use a local store instead.",
            ) from None
        self._record(method, body, resp.status_code, len(resp.content))
        if resp.status_code == 200:
            return wire.unpack(resp.content)
        try:
            err = resp.json()
            title, next_step = err["title"], err.get("next_step", "")
        except (ValueError, KeyError, TypeError):
            title, next_step = f"The store server answered HTTP {resp.status_code}.", ""
        if resp.status_code == 401:
            raise TokenError(f"Store server: {title}", next_step)
        raise StoreError(f"Store server: {title}", next_step or "Check the server's log.")

    def _invoke(self, method: str, **kwargs: Any) -> Any:
        """One protocol call: arguments and result in the host's typed encoding (`host.encode`)."""
        arrays: dict[str, np.ndarray] = {}
        header, out_arrays = self._call(method, {"args": encode(kwargs, arrays)}, arrays)
        return decode(header.get("result"), out_arrays)

    def info(self) -> dict[str, Any]:
        return self._invoke("info")  # type: ignore[no-any-return]

    def setup(self, meta: dict[str, Any]) -> dict[str, Any]:
        return self._invoke("setup", meta=meta)  # type: ignore[no-any-return]

    def state(self) -> StateBlob | None:
        return state_of(self._invoke("state"))

    def append(self, rows: list[tuple[bytes, bytes, bytes]], state: StateBlob) -> None:
        self._invoke("append", rows=rows, state=state)  # one request: atomic with its state

    def delete(self, tags: list[bytes], state: StateBlob) -> int:
        return int(self._invoke("delete", tags=tags, state=state))

    def fetch(self, tags: list[bytes] | None = None, positions: list[int] | None = None) -> list[Row]:
        return _rows(self._invoke("fetch", tags=tags, positions=positions))

    def block_rows(self, block: int) -> list[Row]:
        return _rows(self._invoke("block_rows", block=block))

    def write_block(
        self, block: int, data: bytes, placed: list[tuple[bytes, bytes, int, bytes]], state: StateBlob
    ) -> None:
        raw = np.frombuffer(data, dtype=np.float64)
        self._invoke("write_block", block=block, data=raw, placed=placed, state=state)

    def drop_block(self, block: int, released: list[tuple[bytes, bytes]], state: StateBlob) -> None:
        self._invoke("drop_block", block=block, released=released, state=state)

    def scan_plain(self, query: PlainQuery) -> ScanResult:
        return self._scan(self._invoke("scan_plain", query=query))

    def scan_encrypted(self, enc: np.ndarray, seeds: list[bytes] | None = None) -> ScanResult:
        return self._scan(self._invoke("scan_encrypted", enc=enc.astype(np.int64), seeds=seeds))

    @staticmethod
    def _scan(res: Any) -> ScanResult:
        if not isinstance(res, ScanResult):
            raise StoreError("The store server sent a malformed scan result.", "Check the server's version.")
        return ScanResult(
            np.asarray(res.blocks), np.asarray(res.cts), _rows(res.pending), state_of(res.state)
        )

    def manifest_put(self, tag: bytes, value: bytes) -> None:
        self._invoke("manifest_put", tag=tag, value=value)

    def manifest_all(self) -> list[tuple[bytes, bytes]]:
        return [(bytes(t), bytes(v)) for t, v in self._invoke("manifest_all")]

    def manifest_delete(self, tag: bytes) -> None:
        self._invoke("manifest_delete", tag=tag)

    def vacuum(self) -> None:
        self._invoke("vacuum")

    def close(self) -> None:
        self._http.close()


def _rows(value: Any) -> list[Row]:
    """Rows from a reply, well-typed ones only (their content is checked by the client later)."""
    return [
        r
        for r in value
        if isinstance(r, Row)
        and all(isinstance(x, bytes) for x in (r.tag, r.doc, r.payload))
        and (r.pos is None or (isinstance(r.pos, int) and not isinstance(r.pos, bool)))
    ]


HttpBackend = HttpHost  # the name before the StoreHost protocol
