"""`HttpHost`: the `StoreHost` protocol spoken to an `assistant store serve` server over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np

from assistant.errors import AuthError, StoreError
from encrypted_store import wire
from encrypted_store.host import PlainQuery, Row, ScanResult, StateBlob, decode, encode, state_of


class HttpHost:
    """Talks to a store server; the client keeps all keys, the server sees only what it stores."""

    remote = True

    def __init__(self, url: str, token: str | None, timeout: float = 120.0) -> None:
        if not token:
            raise AuthError(
                "A store server is configured but no token is set.",
                "Set ASSISTANT_STORE_TOKEN to the token `assistant store serve` printed.",
            )
        self.url = url.rstrip("/")
        self._http = httpx.Client(timeout=timeout, headers={"Authorization": f"Bearer {token}"})

    def _call(
        self, method: str, header: dict[str, Any] | None = None, arrays: dict[str, np.ndarray] | None = None
    ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        try:
            resp = self._http.post(f"{self.url}/v1/{method}", content=wire.pack(header or {}, arrays))
        except httpx.HTTPError as exc:
            raise StoreError(
                f"The store server at {self.url} is unreachable ({type(exc).__name__}).",
                "Start it with `assistant store serve`, or unset ASSISTANT_STORE_URL to use the local store.",
            ) from None
        if resp.status_code == 200:
            return wire.unpack(resp.content)
        try:
            err = resp.json()
            title, next_step = err["title"], err.get("next_step", "")
        except (ValueError, KeyError, TypeError):
            title, next_step = f"The store server answered HTTP {resp.status_code}.", ""
        if resp.status_code == 401:
            raise AuthError(f"Store server: {title}", next_step)
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

    def fetch(
        self,
        tags: list[bytes] | None = None,
        positions: list[int] | None = None,
        docs: list[bytes] | None = None,
    ) -> list[Row]:
        return _rows(self._invoke("fetch", tags=tags, positions=positions, docs=docs))

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
