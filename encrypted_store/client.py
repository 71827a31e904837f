"""The HTTP client of `assistant store serve`, with the same methods as `LocalBackend`.

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

from encrypted_store import scan, wire
from encrypted_store.backend import Row, ScanResult
from encrypted_store.errors import InputError, StoreError, TokenError, TrustError, UnreachableError


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


class HttpBackend:
    """Talks to a store server; the client keeps all keys, the server sees only what it stores.

    ca_file: PEM certificate(s) to trust for an https server (default: the system's CAs).
    recorder: called after every request with a `StoreRequest` (the app's ledger).
    """

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

    @staticmethod
    def _rows(header: dict[str, Any]) -> list[Row]:
        return [Row(wire.unb64(t), wire.unb64(d), p, wire.unb64(pl)) for t, d, p, pl in header["rows"]]

    def info(self) -> dict[str, Any]:
        return self._call("info")[0]

    def setup(self, meta: dict[str, Any]) -> dict[str, Any]:
        return self._call("setup", {"meta": meta})[0]

    def append(self, rows: list[tuple[bytes, bytes, bytes]]) -> None:
        for i in range(0, len(rows), 2000):  # stays far below the server's body limit
            part = rows[i : i + 2000]
            self._call("append", {"rows": [[wire.b64(t), wire.b64(d), wire.b64(p)] for t, d, p in part]})

    def delete(self, tags: list[bytes]) -> int:
        return int(self._call("delete", {"tags": [wire.b64(t) for t in tags]})[0]["count"])

    def delete_doc(self, doc: bytes) -> int:
        return int(self._call("delete_doc", {"doc": wire.b64(doc)})[0]["count"])

    def fetch(self, tags: list[bytes] | None = None, positions: list[int] | None = None) -> list[Row]:
        header = {"tags": [wire.b64(t) for t in tags or []], "positions": [int(p) for p in positions or []]}
        return self._rows(self._call("fetch", header)[0])

    def pending(self) -> list[Row]:
        return self._rows(self._call("pending")[0])

    def block_rows(self, block: int) -> list[Row]:
        return self._rows(self._call("block_rows", {"block": block})[0])

    def blocks(self) -> list[tuple[int, int]]:
        return [(int(a), int(b)) for a, b in self._call("blocks")[0]["blocks"]]

    def write_block(self, block: int | None, data: bytes, placed: list[tuple[bytes, int, bytes]]) -> int:
        header = {"block": block, "placed": [[wire.b64(t), p, wire.b64(pl)] for t, p, pl in placed]}
        return int(
            self._call("write_block", header, {"data": np.frombuffer(data, dtype=np.float64)})[0]["block"]
        )

    def drop_block(self, block: int, released: list[tuple[bytes, bytes]]) -> None:
        self._call(
            "drop_block", {"block": block, "released": [[wire.b64(t), wire.b64(p)] for t, p in released]}
        )

    def scan_plain(self, query: scan.PlainQuery, dim: int, prime: int) -> ScanResult:
        header = {"queries": query.queries, "levels": query.levels, "radix_bits": query.radix_bits}
        _h, a = self._call("scan_plain", header, {"weights": query.weights})
        return ScanResult(a["blocks"], a["cts"], a["live"])

    def scan_encrypted(self, enc_queries: np.ndarray, dim: int, prime: int) -> ScanResult:
        _h, a = self._call("scan_encrypted", {}, {"enc": enc_queries.astype(np.int64)})
        return ScanResult(a["blocks"], a["cts"], a["live"])

    def manifest_put(self, tag: bytes, value: bytes) -> None:
        self._call("manifest_put", {"tag": wire.b64(tag), "value": wire.b64(value)})

    def manifest_all(self) -> list[tuple[bytes, bytes]]:
        return [(wire.unb64(t), wire.unb64(v)) for t, v in self._call("manifest_all")[0]["items"]]

    def manifest_delete(self, tag: bytes) -> None:
        self._call("manifest_delete", {"tag": wire.b64(tag)})

    def vacuum(self) -> None:
        self._call("vacuum")

    def close(self) -> None:
        self._http.close()
