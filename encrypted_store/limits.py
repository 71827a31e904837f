"""Service limits of the store server: every request's header fields and arrays, type- and range-checked.

The server runs these checks before a request reaches the backend, so a malformed or hostile request
gets a 400 with a reason instead of a crash, a silent pass or a reply of unbounded size. Methods not
listed in `SCHEMAS` get only the generic checks of `wire.unpack`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Check = Callable[[Any], None]
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
MAX_POS = 2**50  # block * 4096 + slot; far beyond any store this runs


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


def _int(lo: int, hi: int) -> Check:
    def check(value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(f"must be an integer in [{lo}, {hi}]")

    return check


def _b64(value: Any) -> None:
    if not isinstance(value, str) or len(value) % 4 or not _B64.fullmatch(value):
        raise ValueError("must be a base64 string")


def _str(value: Any) -> None:
    if not isinstance(value, str):
        raise ValueError("must be a string")


def _obj(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")


def _opt(check: Check) -> Check:
    def inner(value: Any) -> None:
        if value is not None:
            check(value)

    return inner


def _tuple(*items: Check) -> Check:
    def check(value: Any) -> None:
        if not isinstance(value, list) or len(value) != len(items):
            raise ValueError(f"must be a list of {len(items)} items")
        for item, sub in zip(value, items, strict=True):
            sub(item)

    return check


@dataclass(frozen=True)
class _List:
    """A list of `item`s, at most `Limits.max_items` long (bound to the server's limits when checked)."""

    item: Check
    optional: bool = False  # None is accepted too

    def bind(self, limits: Limits) -> Check:
        def check(value: Any) -> None:
            if value is None and self.optional:
                return
            if not isinstance(value, list) or len(value) > limits.max_items:
                raise ValueError(f"must be a list of at most {limits.max_items} items")
            for element in value:
                self.item(element)

        return check


_POS = _int(0, MAX_POS)
_BLOCK = _int(0, MAX_POS // 4096)
# method -> field -> (check, required)
SCHEMAS: dict[str, dict[str, tuple[Check | _List, bool]]] = {
    "info": {},
    "setup": {"meta": (_obj, True)},
    "append": {"rows": (_List(_tuple(_b64, _b64, _b64)), True)},
    "delete": {"tags": (_List(_b64), True)},
    "delete_doc": {"doc": (_b64, True)},
    "fetch": {"tags": (_List(_b64, optional=True), False), "positions": (_List(_POS, optional=True), False)},
    "pending": {},
    "block_rows": {"block": (_BLOCK, True)},
    "blocks": {},
    "write_block": {"block": (_opt(_BLOCK), True), "placed": (_List(_tuple(_b64, _POS, _b64)), True)},
    "drop_block": {"block": (_BLOCK, True), "released": (_List(_tuple(_b64, _b64)), True)},
    "scan_plain": {
        "queries": (_int(1, 1 << 20), True),
        "levels": (_int(1, 64), True),
        "radix_bits": (_int(1, 8), True),
    },
    "scan_encrypted": {},
    "manifest_put": {"tag": (_b64, True), "value": (_b64, True)},
    "manifest_all": {},
    "manifest_delete": {"tag": (_b64, True)},
    "vacuum": {},
}
ARRAYS: dict[str, dict[str, tuple[str, int]]] = {  # method -> array name -> (dtype, ndim)
    "write_block": {"data": ("<f8", 1)},
    "scan_plain": {"weights": ("<f8", 2)},
    "scan_encrypted": {"enc": ("<i8", 4)},
}


def check_request(method: str, header: dict[str, Any], arrays: dict[str, np.ndarray], limits: Limits) -> None:
    """Raise RequestError unless every known field of `method` has the right type and range."""
    schema = SCHEMAS.get(method)
    if schema is None:
        return
    for name, (check, required) in schema.items():
        if name not in header:
            if required:
                raise RequestError(f"Field {name!r} is missing from a {method} request.")
            continue
        run = check.bind(limits) if isinstance(check, _List) else check
        try:
            run(header[name])
        except ValueError as exc:
            raise RequestError(f"Field {name!r} of a {method} request {exc}.") from None
    expected = ARRAYS.get(method, {})
    for name in arrays:
        if name not in expected:
            raise RequestError(f"A {method} request carries an unexpected array {name!r}.")
    for name, (dtype, ndim) in expected.items():
        arr = arrays.get(name)
        if arr is None or arr.dtype.str != dtype or arr.ndim != ndim:
            raise RequestError(f"Array {name!r} of a {method} request must be {dtype} with {ndim} axes.")
    if method == "scan_plain":
        _check_plain(header, arrays["weights"], limits)
    elif method == "scan_encrypted":
        _check_encrypted(arrays["enc"], limits)


def _check_plain(header: dict[str, Any], weights: np.ndarray, limits: Limits) -> None:
    columns = header["queries"] * header["levels"]
    if header["queries"] > limits.max_queries or columns > limits.max_query_columns:
        raise RequestError(
            f"Too many queries in one scan ({header['queries']} queries, {columns} columns; the limit is "
            f"{limits.max_queries} queries and {limits.max_query_columns} columns).",
            "Send fewer sub-queries per search.",
        )
    if weights.shape[1] != columns or not 1 <= weights.shape[0] <= limits.max_dim:
        raise RequestError(f"Query weights have shape {weights.shape}; expected (dim, {columns}).")
    bound = 1 << (header["radix_bits"] - 1)
    if weights.size and (np.any(weights != np.rint(weights)) or float(np.abs(weights).max()) > bound):
        raise RequestError(f"Query weights must be integer digits in [-{bound}, {bound}].")


def _check_encrypted(enc: np.ndarray, limits: Limits) -> None:
    if not 1 <= enc.shape[0] <= limits.max_queries:
        raise RequestError(
            f"An encrypted scan carries {enc.shape[0]} queries; the limit is {limits.max_queries}.",
            "Send fewer sub-queries per search.",
        )
    if enc.size and int(enc.min()) < 0:
        raise RequestError("Encrypted query coefficients must be non-negative residues.")
