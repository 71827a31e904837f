"""The ledger: every outbound request, sealed in the data dir and chained so that nothing can be cut.

Two kinds of entry: a request to the remote planner (time, URL, exact body, reply) and a request to a
store server (method, size and SHA-256 of the body: never the ciphertexts themselves).

Files: `ledger.bin` is a sequence of frames, each a 4-byte big-endian length and a blob sealed with the
keyring (AES-256-GCM). Each frame's associated data holds its index and the SHA-256 of the frame before
it, so altering, reordering or removing a frame breaks every later one. `ledger.head` holds the sealed
count and the digest of the last frame, rewritten atomically after each append, so cutting frames off
the end is reported too. What a local check cannot see: both files deleted, or both replaced by an
older copy of themselves.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import struct
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from assistant.datadir import replace_private
from assistant.errors import StoreError
from encrypted_store.errors import TamperError

FILENAME = "ledger.bin"
HEADNAME = "ledger.head"
Status = Literal["sent", "refused", "failed"]
Kind = Literal["remote", "store"]
_START = b"\0" * 32  # the "previous frame" of frame 0
_HEAD_AAD = b"ledger/head/v2"


class Sealer(Protocol):
    def seal(self, data: bytes, aad: bytes) -> bytes: ...

    def open(self, blob: bytes, aad: bytes) -> bytes: ...


class StoreCall(Protocol):
    """What the store client reports per request (`encrypted_store.client.StoreRequest`)."""

    url: str
    method: str
    size: int
    sha256: str
    status: int | None
    reply_size: int
    error: str


@dataclass(frozen=True)
class LedgerEntry:
    time: str  # ISO 8601, UTC
    url: str
    body: str  # exactly what was sent (or, for a refusal, what would have been); "" for store requests
    status: Status
    reply: str = ""  # the reply body as received, truncated to 64 KB
    note: str = ""  # HTTP status, error, or the guard's reason
    kind: Kind = "remote"
    size: int = 0  # body bytes
    sha256: str = ""  # of the body (store requests: the only trace of what was sent)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LedgerEntry:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _aad(index: int, prev: bytes) -> bytes:
    return b"ledger/v2/" + str(index).encode() + b"/" + prev


def _legacy_aad(index: int) -> bytes:  # ledgers written before the chain (no head file)
    return b"ledger/v1/" + str(index).encode()


def _digest(blob: bytes) -> bytes:
    return hashlib.sha256(blob).digest()


class Ledger:
    """Append-only, encrypted and chained; readable only with the passphrase."""

    def __init__(self, home: Path, keyring: Sealer) -> None:
        self.path = home / FILENAME
        self.head_path = home / HEADNAME
        self._keyring = keyring
        self._lock = threading.Lock()
        self._state: tuple[int, int, bytes] | None = None  # (file size, frames, digest of the last)

    # ---- writing ---------------------------------------------------------------------------
    def append(self, url: str, body: str, status: Status, *, reply: str = "", note: str = "") -> LedgerEntry:
        raw = body.encode()
        entry = LedgerEntry(
            _now(),
            url,
            body,
            status,
            reply[:65536],
            note,
            "remote",
            len(raw),
            hashlib.sha256(raw).hexdigest(),
        )
        self.write(entry)
        return entry

    def record_store(self, call: StoreCall) -> None:
        """One store-server request: method, size and digest, never the body (a recorder callback)."""
        note = f"HTTP {call.status}, reply {call.reply_size} bytes" if call.status is not None else call.error
        status: Status = "sent" if call.status is not None else "failed"
        url = f"{call.url}/v1/{call.method}"
        self.write(LedgerEntry(_now(), url, "", status, "", note, "store", call.size, call.sha256))

    def write(self, entry: LedgerEntry) -> None:
        """Append one entry as the next link of the chain, then reseal the head."""
        with self._lock, self._locked():
            count, last = self._tip()
            blob = self._keyring.seal(json.dumps(entry.to_json()).encode(), _aad(count, last))
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "ab") as fh:
                fh.write(struct.pack(">I", len(blob)) + blob)
                fh.flush()
                os.fsync(fh.fileno())
            self._write_head(count + 1, _digest(blob))
            self._state = (self.path.stat().st_size, count + 1, _digest(blob))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An advisory lock across processes (the TUI and a CLI command may both append)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path.parent / (FILENAME + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _tip(self) -> tuple[int, bytes]:
        """Frames so far and the digest of the last; checked against the head on first use."""
        if self._state is not None and self.path.exists() and self.path.stat().st_size == self._state[0]:
            return self._state[1], self._state[2]
        frames = self._frames()
        self._check_head(frames)
        return len(frames), _digest(frames[-1]) if frames else _START

    def _write_head(self, count: int, last: bytes) -> None:
        blob = self._keyring.seal(json.dumps({"count": count, "last": last.hex()}).encode(), _HEAD_AAD)
        replace_private(self.head_path, blob)

    # ---- reading ---------------------------------------------------------------------------
    def _frames(self) -> list[bytes]:
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        frames, pos = [], 0
        while pos < len(data):
            if pos + 4 > len(data):
                raise _corrupt("its last frame is cut short (truncated)")
            (n,) = struct.unpack(">I", data[pos : pos + 4])
            if pos + 4 + n > len(data):
                raise _corrupt("its last frame is cut short (truncated)")
            frames.append(data[pos + 4 : pos + 4 + n])
            pos += 4 + n
        return frames

    def _check_head(self, frames: list[bytes]) -> None:
        """The frames must reach the sealed head: fewer means entries were cut off the end."""
        if not self.head_path.exists():
            if frames and not self._is_legacy(frames[0]):
                raise _corrupt(f"its sealed head ({HEADNAME}) is missing, so entries may have been cut")
            return
        try:
            head = json.loads(self._keyring.open(self.head_path.read_bytes(), _HEAD_AAD))
            count, last = int(head["count"]), bytes.fromhex(head["last"])
        except (TamperError, ValueError, KeyError, TypeError):
            raise _corrupt(f"its sealed head ({HEADNAME}) fails its integrity check") from None
        if len(frames) < count:
            raise _corrupt(
                f"it holds {len(frames)} entries but its sealed head records {count}: "
                f"the last {count - len(frames)} were removed (truncated)"
            )
        if count and _digest(frames[count - 1]) != last:
            raise _corrupt("its entries do not match its sealed head (replaced by another ledger)")
        # frames beyond the head (a crash before the head was rewritten) hide nothing: the chain vouches

    def _is_legacy(self, frame: bytes) -> bool:
        try:
            self._keyring.open(frame, _legacy_aad(0))
            return True
        except TamperError:
            return False

    def entries(self) -> list[LedgerEntry]:
        """All entries, oldest first, after checking the whole chain and the head.

        Raises:
            StoreError: an entry was altered, reordered, removed or cut off the end.
        """
        frames = self._frames()
        out: list[LedgerEntry] = []
        prev, legacy = _START, True
        for i, blob in enumerate(frames):
            try:
                raw = self._keyring.open(blob, _aad(i, prev))
                legacy = False
            except TamperError:
                raw = self._open_legacy(blob, i, legacy, len(frames))
            out.append(LedgerEntry.from_json(json.loads(raw)))
            prev = _digest(blob)
        self._check_head(frames)
        return out

    def _open_legacy(self, blob: bytes, index: int, legacy: bool, total: int) -> bytes:
        if legacy:
            with contextlib.suppress(TamperError):
                return self._keyring.open(blob, _legacy_aad(index))
        raise _corrupt(
            f"entry {index + 1} of {total} fails its check: entries were altered, reordered or removed"
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _corrupt(why: str) -> StoreError:
    return StoreError(
        f"The ledger has been tampered with or damaged: {why}.",
        f"Keep a copy for inspection, then move {FILENAME} and {HEADNAME} out of the data dir to start "
        "a new ledger.",
    )
