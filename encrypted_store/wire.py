"""Wire format between the store client and server: a JSON header plus raw numpy arrays.

Layout: u32 header length, UTF-8 JSON header (an object), then each array's bytes in the order the
header's "arrays" list gives (name, dtype, shape). Bytes inside the header travel as base64 strings.
Only ciphertexts, tags and sealed blobs ever go through it. `unpack` trusts nothing: the header must
be a JSON object without NaN or infinities, integers fit in 64 bits, float arrays are finite.
"""

from __future__ import annotations

import base64
import json
import math
import struct
from typing import Any

import numpy as np

from encrypted_store.errors import StoreError

_ALLOWED = {"<f8", "<i8", "<u8", "|b1"}
MAX_DEPTH = 8  # JSON nesting of a header (rows are lists of lists: depth 3)
MAX_NDIM = 4
INT64 = 2**63


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
    head = json.dumps({**header, "arrays": specs}, allow_nan=False).encode()
    return struct.pack("<I", len(head)) + head + b"".join(blobs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number overflows a float")
    return value


def _check_value(value: Any, depth: int = 0) -> None:
    """Integers within 64 bits, nesting bounded (json has already refused NaN and infinities)."""
    if depth > MAX_DEPTH:
        raise ValueError("header nested too deeply")
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return
    if isinstance(value, int):
        if not -INT64 <= value < INT64:
            raise ValueError("an integer does not fit in 64 bits")
    elif isinstance(value, list):
        for item in value:
            _check_value(item, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            _check_value(item, depth + 1)


def _shape(shape: Any) -> tuple[int, ...]:
    if not isinstance(shape, list) or len(shape) > MAX_NDIM:
        raise ValueError("array shape must be a list of at most 4 sizes")
    if any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d < 2**40 for d in shape):
        raise ValueError("array sizes must be non-negative integers")
    return tuple(shape)


def unpack(data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Inverse of pack; raises StoreError on anything malformed (never trusts the sizes)."""
    try:
        (size,) = struct.unpack_from("<I", data)
        if 4 + size > len(data):
            raise ValueError("header longer than the message")
        header = json.loads(bytes(data[4 : 4 + size]), parse_constant=_no_constant, parse_float=_finite_float)
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
        _check_value(header)
        offset = 4 + size
        arrays: dict[str, np.ndarray] = {}
        specs = header.pop("arrays", [])
        if not isinstance(specs, list):
            raise ValueError("'arrays' is not a list")
        for spec in specs:
            if not isinstance(spec, list) or len(spec) != 3:
                raise ValueError("an array spec is not [name, dtype, shape]")
            name, dtype, shape = spec[0], spec[1], _shape(spec[2])
            if not isinstance(name, str) or name in arrays or dtype not in _ALLOWED:
                raise ValueError(f"bad array spec {name!r} {dtype!r}")
            count = math.prod(shape)  # Python ints: a huge shape cannot wrap around
            nbytes = count * np.dtype(dtype).itemsize
            if offset + nbytes > len(data):
                raise ValueError("truncated array")
            arr = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape)
            if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
                raise ValueError(f"array {name!r} holds NaN or infinity")
            arrays[name] = arr
            offset += nbytes
        if offset != len(data):
            raise ValueError("trailing bytes")
        return header, arrays
    except (ValueError, KeyError, TypeError, struct.error, RecursionError) as exc:
        raise StoreError(
            f"Malformed store message ({exc}).", "Check that client and server versions match."
        ) from None
