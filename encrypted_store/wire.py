"""Wire format between the store client and server: a JSON header plus raw numpy arrays.

Layout: u32 header length, UTF-8 JSON header, then each array's bytes in the order the header's
"arrays" list gives (name, dtype, shape). Bytes inside the header travel as base64 strings. Only
ciphertexts, tags and sealed blobs ever go through it.
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import numpy as np

from encrypted_store.errors import StoreError

_ALLOWED = {"<f8", "<i8", "<u8", "|b1"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def pack(header: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> bytes:
    arrays = arrays or {}
    specs = []
    blobs = []
    for name, arr in arrays.items():
        arr = np.ascontiguousarray(arr)
        specs.append([name, arr.dtype.str, list(arr.shape)])
        blobs.append(arr.tobytes())
    head = json.dumps({**header, "arrays": specs}).encode()
    return struct.pack("<I", len(head)) + head + b"".join(blobs)


def unpack(data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Inverse of pack; raises StoreError on anything malformed (never trusts the sizes)."""
    try:
        (size,) = struct.unpack_from("<I", data)
        header = json.loads(data[4 : 4 + size])
        offset = 4 + size
        arrays = {}
        for name, dtype, shape in header.pop("arrays", []):
            if dtype not in _ALLOWED or any(int(d) < 0 for d in shape):
                raise ValueError(f"bad array spec {dtype} {shape}")
            count = int(np.prod(shape, dtype=np.int64))
            nbytes = count * np.dtype(dtype).itemsize
            if offset + nbytes > len(data):
                raise ValueError("truncated array")
            arrays[name] = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape)
            offset += nbytes
        if offset != len(data):
            raise ValueError("trailing bytes")
        return header, arrays
    except (ValueError, KeyError, TypeError, struct.error) as exc:
        raise StoreError(
            f"Malformed store message ({exc}).", "Check that client and server versions match."
        ) from None
