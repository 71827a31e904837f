"""How a record travels: its id as an HMAC tag, its text, meta and vector as one padded AES-GCM blob.

A sealed payload is bound to its tag, its position (None while pending) and the version the client's
state says it carries, so a host that moves, swaps or rolls back a row is caught when it is opened.
Payloads are padded to a power of two of at least `MIN_BUCKET` bytes: sizes do not tell texts apart.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct

import numpy as np

from encrypted_store.api import RecordIn
from encrypted_store.errors import TamperError
from encrypted_store.host import Row
from encrypted_store.keys import Keyring

MIN_BUCKET = 4096  # sealed payloads are padded to a power of two at least this large


class RecordSealing:
    """Sealing and opening of records, for `EncryptedStore` (a mixin: it uses the store's keys)."""

    keyring: Keyring
    dim: int
    _tag_key: bytes
    _row_key: bytes
    _warnings: list[str]

    def _tag(self, record_id: str) -> bytes:
        return hmac.new(self._tag_key, record_id.encode(), hashlib.sha256).digest()[:16]

    def _row_doc(self, tag: bytes) -> bytes:
        """A row's `doc` column (format 3): one row's own value, so rows of one document share none."""
        return hmac.new(self._row_key, tag, hashlib.sha256).digest()[:16]

    @staticmethod
    def _aad(tag: bytes, pos: int | None, version: int) -> bytes:
        return b"record2|" + tag + struct.pack("<qq", -1 if pos is None else pos, version)

    def _seal_body(self, body: bytes, tag: bytes, pos: int | None, version: int) -> bytes:
        bucket = max(MIN_BUCKET, 1 << (len(body) + 36).bit_length())
        padded = body + bytes(bucket - 37 - len(body))  # version (8) + seal (29) + padded = `bucket`
        return struct.pack("<q", version) + self.keyring.seal(padded, self._aad(tag, pos, version))

    def _seal(self, rec: RecordIn, tag: bytes, pos: int | None, version: int) -> bytes:
        head = json.dumps({"id": rec.id, "text": rec.text, "doc": rec.doc, "meta": rec.meta}).encode()
        body = struct.pack("<I", len(head)) + head + np.asarray(rec.vector, dtype="<f4").tobytes()
        return self._seal_body(body, tag, pos, version)

    def _open(self, row: Row, version: int | None) -> RecordIn | None:
        """Decrypt one row that must carry `version`; tampered, rolled-back or decoy rows give None."""
        if version is None:
            self._warnings.append(f"record {row.tag.hex()} is not live in the client's state; skipped")
            return None
        claimed = struct.unpack_from("<q", row.payload)[0] if len(row.payload) >= 8 else -2
        try:
            body = self.keyring.open(row.payload[8:], self._aad(row.tag, row.pos, claimed))
        except TamperError:
            self._warnings.append(f"record {row.tag.hex()} failed its integrity check and was skipped")
            return None
        if claimed < version:
            self._warnings.append(
                f"record {row.tag.hex()} is an older copy (rolled back from version {version} to "
                f"{claimed}) and was refused"
            )
            return None
        (size,) = struct.unpack_from("<I", body)
        if size == 0:
            return None  # a canary's decoy row
        head = json.loads(body[4 : 4 + size])
        vector = np.frombuffer(body, dtype="<f4", offset=4 + size, count=self.dim)
        return RecordIn(head["id"], head["text"], vector, head["doc"], head["meta"])
