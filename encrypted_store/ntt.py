"""Exact arithmetic mod a prime p < 2^50 in numpy, and SEAL's negacyclic NTT, batched.

SEAL stores NTT-form polynomials in bit-reversed order: index i holds a(psi^(2*rev(i)+1)), psi the
smallest primitive 2N-th root of unity mod p (checked against SEAL in the tests). A Gentleman-Sande
pass (natural in, bit-reversed out) produces exactly that order, so no permutation is needed.
Modular products use a float64 quotient estimate and exact int64 wrap-around for the remainder.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np


def mulmod(a: np.ndarray, b: np.ndarray, p: int, b_over_p: np.ndarray | None = None) -> np.ndarray:
    """(a * b) mod p for int64 arrays with entries in [0, p)."""
    ratio = b.astype(np.float64) / p if b_over_p is None else b_over_p
    q = np.floor(a.astype(np.float64) * ratio).astype(np.int64)  # off by at most one
    r = a * b - q * p  # both products wrap mod 2^64; their difference is the exact small remainder
    r += p & (r >> 63)  # r < 0 -> r + p
    r -= p * (r >= p)
    return r


def _primitive_root_2n(p: int, n: int) -> int:
    for g in range(2, 1000):
        root = pow(g, (p - 1) // (2 * n), p)
        if pow(root, n, p) == p - 1:
            return min(pow(root, k, p) for k in range(1, 2 * n, 2))
    raise ValueError("no primitive root found")


class Ntt:
    """Forward and inverse negacyclic NTT of size n mod p on (..., n) int64 arrays."""

    def __init__(self, p: int, n: int) -> None:
        self.p, self.n = p, n
        self.log_n = n.bit_length() - 1
        self.psi = _primitive_root_2n(p, n)

    def _table(self, base: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        values = np.empty(count, dtype=np.int64)
        acc = 1
        for i in range(count):
            values[i] = acc
            acc = acc * base % self.p
        return values, values.astype(np.float64) / self.p

    @cached_property
    def _forward(self) -> tuple[tuple[np.ndarray, np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
        p, n = self.p, self.n
        omega = self.psi * self.psi % p
        stages = [self._table(pow(omega, n // (1 << s), p), 1 << (s - 1)) for s in range(1, self.log_n + 1)]
        return self._table(self.psi, n), stages

    @cached_property
    def _inverse(self) -> tuple[tuple[np.ndarray, np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
        p, n = self.p, self.n
        inv_psi = pow(self.psi, -1, p)
        inv_omega = inv_psi * inv_psi % p
        stages = [
            self._table(pow(inv_omega, n // (1 << s), p), 1 << (s - 1)) for s in range(1, self.log_n + 1)
        ]
        post, _ratio = self._table(inv_psi, n)
        post = np.array([int(v) * pow(n, -1, p) % p for v in post], dtype=np.int64)
        return (post, post.astype(np.float64) / p), stages

    def forward(self, coeffs: np.ndarray) -> np.ndarray:
        """Coefficients in [0, p) -> SEAL NTT form (rows in cache-sized batches)."""
        return self._batched(self._forward_rows, coeffs)

    def inverse(self, values: np.ndarray) -> np.ndarray:
        """SEAL NTT form -> coefficients in [0, p)."""
        return self._batched(self._inverse_rows, values)

    def _batched(self, fn: Any, x: np.ndarray, rows: int = 16) -> np.ndarray:
        flat = np.ascontiguousarray(x, dtype=np.int64).reshape(-1, self.n)
        if len(flat) <= rows:
            return fn(flat).reshape(x.shape)  # type: ignore[no-any-return]
        out = np.empty_like(flat)
        for i in range(0, len(flat), rows):
            out[i : i + rows] = fn(flat[i : i + rows])
        return out.reshape(x.shape)

    def _forward_rows(self, coeffs: np.ndarray) -> np.ndarray:
        p, n = self.p, self.n
        (pre, pre_r), stages = self._forward
        x = mulmod(np.ascontiguousarray(coeffs, dtype=np.int64), pre, p, pre_r)
        lead = x.shape[:-1]
        for s in range(self.log_n, 0, -1):  # Gentleman-Sande: natural order in, bit-reversed out
            half = 1 << (s - 1)
            w, w_r = stages[s - 1]
            x = x.reshape(*lead, n // (2 * half), 2 * half)
            u, v = x[..., :half], x[..., half:]
            top = u + v
            top -= p * (top >= p)
            bottom = u - v
            bottom += p & (bottom >> 63)
            x = np.concatenate([top, mulmod(bottom, w, p, w_r)], axis=-1)
        return x.reshape(*lead, n)

    def _inverse_rows(self, values: np.ndarray) -> np.ndarray:
        p, n = self.p, self.n
        (post, post_r), stages = self._inverse
        x = np.ascontiguousarray(values, dtype=np.int64)
        lead = x.shape[:-1]
        for s in range(1, self.log_n + 1):  # Cooley-Tukey: bit-reversed in, natural order out
            half = 1 << (s - 1)
            w, w_r = stages[s - 1]
            x = x.reshape(*lead, n // (2 * half), 2 * half)
            u = x[..., :half]
            v = mulmod(x[..., half:], w, p, w_r)
            top = u + v
            top -= p * (top >= p)
            bottom = u - v
            bottom += p & (bottom >> 63)
            x = np.concatenate([top, bottom], axis=-1)
        return mulmod(x.reshape(*lead, n), post, p, post_r)
