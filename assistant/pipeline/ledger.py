"""The ledger: every outbound request (time, URL, exact body, reply), sealed in the data dir.

File format (`ledger.bin`): a sequence of frames, each a 4-byte big-endian length and a blob sealed
with the keyring (AES-256-GCM). The associated data binds each frame to its position, so frames cannot
be reordered or swapped between positions without the open failing.
"""

from __future__ import annotations

import json
import os
import struct
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from assistant.errors import StoreError
from encrypted_store.errors import TamperError

FILENAME = "ledger.bin"
Status = Literal["sent", "refused", "failed"]


class Sealer(Protocol):
    def seal(self, data: bytes, aad: bytes) -> bytes: ...

    def open(self, blob: bytes, aad: bytes) -> bytes: ...


@dataclass(frozen=True)
class LedgerEntry:
    time: str  # ISO 8601, UTC
    url: str
    body: str  # exactly what was sent (or, for a refusal, what would have been)
    status: Status
    reply: str = ""  # the reply body as received, truncated to 64 KB
    note: str = ""  # HTTP status, error, or the guard's reason

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _aad(index: int) -> bytes:
    return b"ledger/v1/" + str(index).encode()


class Ledger:
    """Append-only and encrypted; readable only with the passphrase."""

    def __init__(self, home: Path, keyring: Sealer) -> None:
        self.path = home / FILENAME
        self._keyring = keyring
        self._lock = threading.Lock()

    def append(self, url: str, body: str, status: Status, *, reply: str = "", note: str = "") -> LedgerEntry:
        entry = LedgerEntry(
            datetime.now(UTC).isoformat(timespec="seconds"), url, body, status, reply[:65536], note
        )
        with self._lock:
            index = len(self._frames())
            blob = self._keyring.seal(json.dumps(entry.to_json()).encode(), _aad(index))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab") as fh:
                fh.write(struct.pack(">I", len(blob)) + blob)
                fh.flush()
                os.fsync(fh.fileno())
        return entry

    def _frames(self) -> list[bytes]:
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        frames, pos = [], 0
        while pos < len(data):
            if pos + 4 > len(data):
                raise _corrupt()
            (n,) = struct.unpack(">I", data[pos : pos + 4])
            if pos + 4 + n > len(data):
                raise _corrupt()
            frames.append(data[pos + 4 : pos + 4 + n])
            pos += 4 + n
        return frames

    def entries(self) -> list[LedgerEntry]:
        """All entries, oldest first.

        Raises:
            StoreError: the file was truncated or a frame was altered or moved.
        """
        out = []
        for i, blob in enumerate(self._frames()):
            try:
                raw = self._keyring.open(blob, _aad(i))
            except TamperError:
                raise _corrupt() from None
            out.append(LedgerEntry(**json.loads(raw)))
        return out


def _corrupt() -> StoreError:
    return StoreError(
        "The ledger file is truncated or corrupt.",
        f"Move {FILENAME} out of the data dir to start a new ledger (the old one stays unreadable).",
    )
