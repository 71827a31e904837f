"""The encrypted scan as exact integer linear algebra (server side: no key, only public parameters).

A block is (N, 2, D) float64 on disk: NTT coefficients (position j, polynomial, dimension), centred
mod p; in memory, groups of blocks are dimension-major (D, N, g, 2).
Plaintext query: score ciphertext = sum_d qint_d * X[:, :, d] mod p, one matrix product per group of
blocks. Float64 products are exact below 2^53, so the query integers are split into small signed
digits and the bound max|X| * sum|digit| < 2^53 is checked before every scan (FINDINGS.md: an inexact
sum turns into noise amplified by the secret key). Encrypted query: per position j the query
ciphertexts' coefficients (split into digits) form a (C, D) matrix: a batched matrix product over j,
on a float32 hi/lo copy of the blocks made on the first encrypted query.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from encrypted_store.errors import StoreError
from encrypted_store.host import PlainQuery

EXACT = float(2**53)
RADIX_BITS = 3  # plaintext query digits in [-4, 3]: 2^42 * 384 * 4 < 2^53
SPLIT_BITS = 21  # encrypted query: block coefficients split as hi * 2^21 + lo
ENC_LIMB_BITS = 22  # encrypted query: ciphertext coefficients as two balanced 22-bit digits


def signed_digits(values: np.ndarray, radix_bits: int, count: int) -> np.ndarray:
    """Balanced base-2^r digits, least significant first: (..., ) int64 -> (count, ...) int64."""
    base = 1 << radix_bits
    half = base >> 1
    rest = values.astype(np.int64).copy()
    out = np.empty((count, *values.shape), dtype=np.int64)
    for i in range(count):
        digit = ((rest + half) & (base - 1)) - half
        out[i] = digit
        rest = (rest - digit) >> radix_bits
    if np.any(rest != 0):
        raise StoreError("Query value out of range for its digit split.", "Report this as a bug.")
    return out


def check_exact(bound_x: float, weights: np.ndarray) -> None:
    """Refuse a product that float64 could round: max|X| * max column sum|w| must be < 2^53."""
    worst = float(np.abs(weights).sum(axis=-2).max()) if weights.size else 0.0
    if bound_x * worst >= EXACT:
        raise StoreError(
            "The encrypted scan would lose exactness for this query.",
            "Retry the search; if it persists, report it as a bug.",
        )


def _combine(partial: np.ndarray, prime: int, radix_bits: int) -> np.ndarray:
    """(L, ...) exact float64 digit sums -> (...) uint64 residues of sum_l partial_l * base^l mod p."""
    acc = np.zeros(partial.shape[1:], dtype=np.int64)
    for level in range(partial.shape[0] - 1, -1, -1):  # Horner: every intermediate stays below 2^63
        acc = np.mod((acc << radix_bits) + np.mod(partial[level].astype(np.int64), prime), prime)
    return acc.astype(np.uint64)


def plain_query(queries: np.ndarray, query_bits: int, radix_bits: int = RADIX_BITS) -> PlainQuery:
    qint = np.rint(queries.astype(np.float64) * (1 << query_bits)).astype(np.int64)  # (Q, D)
    levels = -(-(query_bits + 2) // radix_bits)
    digits = signed_digits(qint, radix_bits, levels)  # (L, Q, D)
    weights = digits.transpose(2, 1, 0).reshape(qint.shape[1], -1).astype(np.float64)
    return PlainQuery(weights, qint.shape[0], levels, radix_bits)


def scan_plain(group: np.ndarray, query: PlainQuery, prime: int) -> np.ndarray:
    """(D, N, g, 2) blocks -> (g, Q, 2, N) uint64 score ciphertexts (one per block and query).

    Dimension-major storage makes this (Q*L, D) @ (D, N*g*2): measured faster than the row-major
    product for so few query columns.
    """
    dim, n, g, polys = group.shape
    check_exact(prime // 2, query.weights)
    flat = query.weights.T @ group.reshape(dim, n * g * polys)  # the whole scan: one matrix product
    partial = flat.reshape(query.queries, query.levels, n, g, polys).transpose(1, 3, 0, 4, 2)
    return _combine(partial, prime, query.radix_bits)


def float_digits(values: np.ndarray, radix_bits: int, count: int) -> np.ndarray:
    """Balanced base-2^r digits in float64 (exact: |values| < 2^53): (c, P, D) -> (c, P, count, D)."""
    base = float(1 << radix_bits)
    rest = values.astype(np.float64)
    out = np.empty((values.shape[0], values.shape[1], count, values.shape[2]), dtype=np.float64)
    high = np.empty_like(rest)
    for i in range(count):
        np.rint(rest / base, out=high)
        np.subtract(rest, high * base, out=out[:, :, i])
        rest, high = high, rest
    if np.any(rest != 0):
        raise StoreError("Query value out of range for its digit split.", "Report this as a bug.")
    return out


def _residues(values: np.ndarray, prime: int) -> np.ndarray:
    """Exact float64 integers (|v| < 2^53) -> int64 residues mod p, without integer division."""
    r = values - np.floor(values * (1.0 / prime)) * prime  # quotient off by at most one: still exact
    r[r < 0] += prime
    r[r >= prime] -= prime
    return r.astype(np.int64)


def _run_parallel(fn: Any, items: Any, workers: int) -> None:
    if workers <= 1:
        for item in items:
            fn(item)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scan") as pool:
        for _ in pool.map(fn, items):  # re-raises the first error
            pass


def split_blocks(group: np.ndarray, chunk: int = 256) -> np.ndarray:
    """(D, N, g, 2) float64 blocks -> (D, N, 2, g, 2) float32: lo, hi with x = hi * 2^21 + lo.

    |hi| <= 2^21 and |lo| <= 2^20 are exact in float32, so this costs as much memory as the blocks
    themselves, and an encrypted scan reads half the bytes it would read from a float64 split.
    """
    dim, n, g, polys = group.shape
    out = np.empty((dim, n, 2, g, polys), dtype=np.float32)
    for start in range(0, n, chunk):  # bounded temporaries
        part = group[:, start : start + chunk]
        hi = np.rint(part * (1.0 / (1 << SPLIT_BITS)))
        out[:, start : start + chunk, 1] = hi
        out[:, start : start + chunk, 0] = part - hi * (1 << SPLIT_BITS)
    return out


def scan_encrypted(
    splits: list[np.ndarray],
    enc: np.ndarray,
    prime: int,
    workers: int = 1,
    span: int = 256,
    chunk: int = 8,
) -> list[np.ndarray]:
    """Split groups (`split_blocks`) x (Q, D, 2, N) query ciphertexts -> per group (g, Q, 3, N) uint64.

    Output polynomials: x0*q0, x0*q1 + x1*q0, x1*q1 (a size-3 ciphertext: the client's decryption
    handles it, so the server needs no relinearization key). Both operands are 43-bit residues, so
    both are split: the query into two balanced 22-bit digits (once per span of positions, for every
    group), the block coefficients into hi * 2^21 + lo (once, `split_blocks`). Then |x| <= 2^21,
    |w| <= 2^21 and 384 * 2^42 < 2^53: every product is exact without a per-query check. Per NTT
    position j the product is a (4Q, D) @ (D, 4g) matrix product; a chunk of a few positions is
    widened to float64 at a time so that it stays in cache. Spans of positions are independent:
    `workers` threads share them (numpy releases the GIL; such small products gain nothing from
    BLAS threads).
    """
    from encrypted_store.ntt import mulmod

    nq, dim, _two, n = enc.shape
    centred = enc.astype(np.int64)
    centred -= prime * (centred > prime // 2)
    by_position = np.ascontiguousarray(centred.transpose(3, 0, 2, 1)).reshape(n, nq * 2, dim)  # (N, Q*2, D)
    prods = [np.empty((n, nq * 4, split.shape[2] * split.shape[3] * 2)) for split in splits]

    def positions(start: int) -> None:
        stop = min(n, start + span)
        # (c, Q*2*2, D): row (query, poly, level) of the query weights at each position j
        weights = float_digits(by_position[start:stop], ENC_LIMB_BITS, 2).reshape(stop - start, -1, dim)
        for split, prod in zip(splits, prods, strict=True):
            for j0 in range(start, stop, chunk):
                j1 = min(stop, j0 + chunk)
                cols = split[:, j0:j1].astype(np.float64).reshape(dim, j1 - j0, -1).transpose(1, 0, 2)
                np.matmul(weights[j0 - start : j1 - start], cols, out=prod[j0:j1])

    _run_parallel(positions, range(0, n, span), workers)
    outs = []
    for split, prod in zip(splits, prods, strict=True):
        g = split.shape[3]
        terms = prod.reshape(n, nq, 2, 2, 2, g, 2)  # j, Q, q poly, level, part, g, x poly
        acc = np.zeros((n, nq, 2, g, 2), dtype=np.int64)
        for part in (0, 1):
            for lev in (0, 1):
                term = _residues(terms[:, :, :, lev, part], prime)
                shift = pow(2, SPLIT_BITS * part + ENC_LIMB_BITS * lev, prime)
                acc += term if shift == 1 else mulmod(term, np.int64(shift), prime, np.float64(shift / prime))
        acc %= prime
        res = acc.transpose(3, 1, 4, 2, 0)  # g, Q, x, q, j
        out = np.empty((g, nq, 3, n), dtype=np.uint64)
        out[:, :, 0] = res[:, :, 0, 0]
        out[:, :, 1] = (res[:, :, 0, 1] + res[:, :, 1, 0]) % prime
        out[:, :, 2] = res[:, :, 1, 1]
        outs.append(out)
    return outs
