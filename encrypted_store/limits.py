"""Service limits of the store server: each method's keyword arguments, decoded and type- and range-checked.

A request is `{"args": host.encode(kwargs)}` plus raw arrays. `check_request` decodes the arguments
and checks them against `SCHEMAS` (one entry per `StoreHost` method, one check per argument) before
the host sees them: an unknown, missing or ill-typed argument, an array no argument uses, a number out
of range or an oversized list is a `RequestError` (the server's 400 with a reason). The host still
checks what only it knows (the store's dimension and prime).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from encrypted_store.backend import MAX_POS
from encrypted_store.ckks import N
from encrypted_store.host import PlainQuery, decode

MAX_TAG = 64  # bytes of an HMAC tag or a row's doc value (the client sends 16)
SEED_BYTES = 32  # the seed of a query ciphertext's c1 half
MAX_META = 64  # keys in a setup's public parameters
MAX_COUNTER = 2**62  # the client state's write counter


class RequestError(Exception):
    """A request the server refuses (answered 4xx with `title` and `next_step`)."""

    def __init__(self, title: str, next_step: str = "Check that client and server versions match.") -> None:
        super().__init__(title)
        self.title = title
        self.next_step = next_step


@dataclass(frozen=True)
class Limits:
    """Caps per request. A search with 8 sub-queries uses 8 queries and 56 query columns."""

    max_queries: int = 64  # queries per scan: the reply grows with queries x blocks
    max_query_columns: int = 512  # digit columns of a plaintext-query scan
    max_items: int = 100_000  # tags, rows or positions per request
    max_dim: int = 4096
    max_reply: int = 256 * 1024 * 1024


Check = Callable[[Any, Limits], None]  # raises ValueError("must be ...") for a bad value


def _int(lo: int, hi: int) -> Check:
    def check(value: Any, _limits: Limits) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(f"must be an integer in [{lo}, {hi}]")

    return check


def _bytes(most: int | None = None, least: int = 0) -> Check:
    """Bytes of `least` to `most` long (no cap but the body's when `most` is None)."""

    def check(value: Any, _limits: Limits) -> None:
        if not isinstance(value, bytes) or len(value) < least or (most is not None and len(value) > most):
            size = "" if most is None else f" ({most})" if least == most else f" (at most {most})"
            raise ValueError(f"must be bytes{size}")

    return check


def _opt(inner: Check) -> Check:
    def check(value: Any, limits: Limits) -> None:
        if value is not None:
            inner(value, limits)

    return check


def _list(item: Check) -> Check:
    def check(value: Any, limits: Limits) -> None:
        if not isinstance(value, list) or len(value) > limits.max_items:
            raise ValueError(f"must be a list of at most {limits.max_items} items")
        for element in value:
            item(element, limits)

    return check


def _tuple(*items: Check) -> Check:
    def check(value: Any, limits: Limits) -> None:
        if not isinstance(value, list) or len(value) != len(items):
            raise ValueError(f"must be a list of {len(items)} items")
        for element, sub in zip(value, items, strict=True):
            sub(element, limits)

    return check


def _plain_json(value: Any, depth: int = 0) -> None:
    """JSON scalars, lists and objects only (no bytes, arrays or host types), finite, shallow."""
    if depth > 4:
        raise ValueError("must not nest deeper than 4 levels")
    if isinstance(value, list | dict):
        for item in value.values() if isinstance(value, dict) else value:
            _plain_json(item, depth + 1)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must hold finite numbers")
    elif value is not None and not isinstance(value, bool | int | float | str):
        raise ValueError("must hold plain JSON values only")


_POS = _int(0, MAX_POS - 1)
_BLOCK = _int(0, MAX_POS // N - 1)
_TAG = _bytes(MAX_TAG)
_STATE = _tuple(_int(1, MAX_COUNTER), _bytes())  # (write counter, sealed client state)


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def _meta(value: Any, limits: Limits) -> None:
    if not isinstance(value, dict) or len(value) > MAX_META or not all(isinstance(k, str) for k in value):
        raise ValueError(f"must be an object of at most {MAX_META} named values")
    _plain_json(value)
    if "dim" in value:  # the host reads these back from its public parameters
        _int(1, limits.max_dim)(value["dim"], limits)
    if "format" in value:
        _int(0, 2**31)(value["format"], limits)
    ckks = value.get("ckks", {})
    if not isinstance(ckks, dict) or not all(_positive(x) for x in ckks.values()):
        raise ValueError("must give 'ckks' as an object of positive integers")


def _block_data(value: Any, limits: Limits) -> None:
    if not isinstance(value, np.ndarray) or value.dtype.str != "<f8" or value.ndim != 1:
        raise ValueError("must be a float64 array of 1 axis")
    if value.size > N * 2 * limits.max_dim:
        raise ValueError(f"must hold at most {N * 2 * limits.max_dim} coefficients")


def _plain_query(query: Any, limits: Limits) -> None:
    """Digit columns: at most max_queries x levels columns, finite float64 integers within the radix."""
    if not isinstance(query, PlainQuery):
        raise ValueError("must be a PlainQuery")
    for field, hi in (
        ("queries", limits.max_queries),
        ("levels", limits.max_query_columns),
        ("radix_bits", 8),
    ):
        try:
            _int(1, hi)(getattr(query, field), limits)
        except ValueError as exc:
            raise ValueError(f"has {field}={getattr(query, field)!r:.20}, which {exc}") from None
    columns = query.queries * query.levels
    if columns > limits.max_query_columns:
        raise ValueError(f"has {columns} query columns; the limit is {limits.max_query_columns}")
    w = query.weights
    if not isinstance(w, np.ndarray) or w.dtype.str != "<f8" or w.ndim != 2:
        raise ValueError("must carry float64 weights of 2 axes")
    if w.shape[1] != columns or not 1 <= w.shape[0] <= limits.max_dim:
        raise ValueError(f"has weights of shape {w.shape}; expected (dim <= {limits.max_dim}, {columns})")
    bound = 1 << (query.radix_bits - 1)
    if not np.all(np.isfinite(w)) or np.any(w != np.rint(w)) or float(np.abs(w).max()) > bound:
        raise ValueError(f"must carry finite integer digits in [-{bound}, {bound}]")


def _enc(enc: Any, limits: Limits) -> None:
    """(Q, D, 2, N) int64 query ciphertexts, or (Q, D, N) c0 halves when seeds come with them."""
    if not isinstance(enc, np.ndarray) or enc.dtype.str != "<i8" or enc.ndim not in (3, 4):
        raise ValueError("must be an int64 array of 3 or 4 axes")
    tail = enc.shape[2:]
    if tail not in ((N,), (2, N)) or not 1 <= enc.shape[0] <= limits.max_queries:
        raise ValueError(f"must be (queries <= {limits.max_queries}, dim, [2,] {N}); it is {enc.shape}")
    if not 1 <= enc.shape[1] <= limits.max_dim or int(enc.min()) < 0:
        raise ValueError(f"must hold non-negative residues of at most {limits.max_dim} dimensions")


def _seeds(kwargs: dict[str, Any], _limits: Limits) -> None:
    seeds, enc = kwargs.get("seeds"), kwargs["enc"]
    if (seeds is None) != (enc.ndim == 4) or (seeds is not None and len(seeds) != len(enc)):
        raise ValueError("must be given, one per query, exactly when enc has 3 axes")


# method -> argument -> (check, required): one entry per `StoreHost` method, none left unchecked
SCHEMAS: dict[str, dict[str, tuple[Check, bool]]] = {
    "info": {},
    "setup": {"meta": (_meta, True)},
    "state": {},
    "append": {"rows": (_list(_tuple(_TAG, _TAG, _bytes())), True), "state": (_STATE, True)},
    "delete": {"tags": (_list(_TAG), True), "state": (_STATE, True)},
    "fetch": {
        "tags": (_opt(_list(_TAG)), False),
        "positions": (_opt(_list(_POS)), False),
    },
    "block_rows": {"block": (_BLOCK, True)},
    "write_block": {
        "block": (_BLOCK, True),
        "data": (_block_data, True),
        "placed": (_list(_tuple(_TAG, _TAG, _POS, _bytes())), True),
        "state": (_STATE, True),
    },
    "drop_block": {
        "block": (_BLOCK, True),
        "released": (_list(_tuple(_TAG, _bytes())), True),
        "state": (_STATE, True),
    },
    "scan_plain": {"query": (_plain_query, True)},
    "scan_encrypted": {"enc": (_enc, True), "seeds": (_opt(_list(_bytes(SEED_BYTES, SEED_BYTES))), False)},
    "manifest_put": {"tag": (_TAG, True), "value": (_bytes(), True)},
    "manifest_all": {},
    "manifest_delete": {"tag": (_TAG, True)},
    "vacuum": {},
}
# method -> (argument named in the refusal, a check over all its arguments)
JOINT: dict[str, tuple[str, Callable[[dict[str, Any], Limits], None]]] = {"scan_encrypted": ("seeds", _seeds)}


class _Used(dict):  # type: ignore[type-arg]
    """The request's arrays, noting which ones the arguments refer to."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        super().__init__(arrays)
        self.used: set[str] = set()

    def __getitem__(self, name: str) -> np.ndarray:
        self.used.add(name)
        return super().__getitem__(name)  # type: ignore[no-any-return]


def check_request(
    method: str, header: dict[str, Any], arrays: dict[str, np.ndarray], limits: Limits
) -> dict[str, Any]:
    """The decoded keyword arguments of `method`, or RequestError when any of them is refused."""
    schema = SCHEMAS.get(method)
    if schema is None:
        raise RequestError(f"Unknown store method {method[:64]!r}.")
    if set(header) - {"args"}:
        raise RequestError(f"The {method} request carries fields other than 'args'.")
    tracked = _Used(arrays)
    try:
        kwargs = decode(header.get("args", {}), tracked)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        why = f"{type(exc).__name__}: {str(exc)[:100]}"
        raise RequestError(f"The arguments of the {method} request do not decode ({why}).") from None
    if not isinstance(kwargs, dict):
        raise RequestError(f"The arguments of the {method} request must be an object.")
    if extra := set(arrays) - tracked.used:
        raise RequestError(f"The {method} request carries arrays no argument uses: {sorted(extra)[:4]}.")
    for name in kwargs:
        if name not in schema:
            raise RequestError(f"The {method} request has an unknown argument {name[:64]!r}.")
    for name, (check, required) in schema.items():
        if name not in kwargs:
            if required:
                raise RequestError(f"Argument {name!r} is missing from the {method} request.")
            continue
        try:
            check(kwargs[name], limits)
        except ValueError as exc:
            raise RequestError(
                f"Argument {name!r} of the {method} request {exc}.", _next_step(name)
            ) from None
    if method in JOINT:
        name, joint = JOINT[method]
        try:
            joint(kwargs, limits)
        except ValueError as exc:
            raise RequestError(f"Argument {name!r} of the {method} request {exc}.") from None
    return kwargs


def _next_step(name: str) -> str:
    if name in ("query", "enc"):
        return "Send fewer sub-queries per search, or check that client and server versions match."
    return "Check that client and server versions match."
