"""The encrypted scan of `encrypted_store.scan`, written once in torch: the same code on CPU and CUDA.

Why the results are exact (and so bit-identical to the numpy scan) on any device: every operand of
the float64 products is an integer of at most 42 bits, and every dot product is bounded below 2^53
(`scan.check_exact` for plaintext queries, the hi/lo and 22-bit digit splits for encrypted ones).
A float64 sum of integers whose partial sums all stay below 2^53 is exact in any order and with any
blocking or fused multiply-add, so cuBLAS, MKL and OpenBLAS all return the same integers. Residues
are then taken in int64 with shifts of at most 20 bits per step, so nothing overflows either.

torch is imported on first use; blocks stay resident on the device between queries (`TorchScanner`).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from encrypted_store import scan

STEP_BITS = 20  # residue shifts: (p < 2^43) << 20 stays below 2^63


def _torch() -> Any:
    import torch

    return torch


def _mul_pow2(term: Any, bits: int, prime: int) -> Any:
    """(term * 2^bits) mod p for int64 residues in [0, p), without overflow."""
    while bits > 0:
        step = min(bits, STEP_BITS)
        term = (term << step).remainder(prime)
        bits -= step
    return term


def _residues(values: Any, prime: int) -> Any:
    """Exact float64 integers (|v| < 2^53) -> int64 residues mod p, as `scan._residues` does."""
    torch = _torch()
    r = values - torch.floor(values * (1.0 / prime)) * prime
    r = torch.where(r < 0, r + prime, r)
    r = torch.where(r >= prime, r - prime, r)
    return r.to(torch.int64)


def _combine(partial: Any, prime: int, radix_bits: int) -> Any:
    """(L, ...) exact float64 digit sums -> (...) int64 residues of sum_l partial_l * base^l mod p."""
    torch = _torch()
    acc = torch.zeros(partial.shape[1:], dtype=torch.int64, device=partial.device)
    for level in range(partial.shape[0] - 1, -1, -1):
        acc = ((acc << radix_bits) + partial[level].to(torch.int64).remainder(prime)).remainder(prime)
    return acc


def _to_numpy_u64(t: Any) -> np.ndarray:
    return t.cpu().numpy().astype(np.uint64)


def scan_plain(group: Any, query: scan.PlainQuery, prime: int) -> np.ndarray:
    """(D, N, g, 2) float64 tensor -> (g, Q, 2, N) uint64 score ciphertexts (as `scan.scan_plain`)."""
    torch = _torch()
    dim, n, g, polys = group.shape
    scan.check_exact(prime // 2, query.weights)
    weights = torch.from_numpy(np.ascontiguousarray(query.weights.T)).to(group.device)
    flat = weights @ group.reshape(dim, n * g * polys)
    partial = flat.reshape(query.queries, query.levels, n, g, polys).permute(1, 3, 0, 4, 2)
    return _to_numpy_u64(_combine(partial, prime, query.radix_bits))


def split_blocks(group: Any, chunk: int = 256) -> Any:
    """(D, N, g, 2) float64 -> (D, N, 2, g, 2) float32: lo, hi with x = hi * 2^21 + lo (as numpy's)."""
    torch = _torch()
    dim, n, g, polys = group.shape
    out = torch.empty((dim, n, 2, g, polys), dtype=torch.float32, device=group.device)
    for start in range(0, n, chunk):
        part = group[:, start : start + chunk]
        hi = torch.round(part * (1.0 / (1 << scan.SPLIT_BITS)))  # half to even, like np.rint
        out[:, start : start + chunk, 1] = hi
        out[:, start : start + chunk, 0] = part - hi * (1 << scan.SPLIT_BITS)
    return out


def scan_encrypted(splits: list[Any], enc: np.ndarray, prime: int, chunk: int = 64) -> list[np.ndarray]:
    """Split groups x (Q, D, 2, N) query ciphertexts -> per group (g, Q, 3, N) uint64 (`scan.scan_encrypted`).

    Per NTT position j the product is (4Q, D) @ (D, 4g); `chunk` positions at a time are widened
    from float32 to float64 and multiplied as one batched product.
    """
    torch = _torch()
    if not splits:
        return []
    device = splits[0].device
    nq, dim, _two, n = enc.shape
    centred = enc.astype(np.int64)
    centred -= prime * (centred > prime // 2)
    by_position = np.ascontiguousarray(centred.transpose(3, 0, 2, 1)).reshape(n, nq * 2, dim)
    weights_np = scan.float_digits(by_position, scan.ENC_LIMB_BITS, 2).reshape(n, -1, dim)  # (N, 4Q, D)
    weights = torch.from_numpy(weights_np).to(device)
    outs = []
    for split in splits:
        g = split.shape[3]
        prod = torch.empty((n, nq * 4, g * 4), dtype=torch.float64, device=device)
        for j0 in range(0, n, chunk):
            j1 = min(n, j0 + chunk)
            cols = split[:, j0:j1].to(torch.float64).reshape(dim, j1 - j0, -1).permute(1, 0, 2)
            torch.bmm(weights[j0:j1], cols, out=prod[j0:j1])
        terms = prod.reshape(n, nq, 2, 2, 2, g, 2)  # j, Q, q poly, level, part, g, x poly
        acc = torch.zeros((n, nq, 2, g, 2), dtype=torch.int64, device=device)
        for part in (0, 1):
            for lev in (0, 1):
                term = _residues(terms[:, :, :, lev, part], prime)
                acc = (
                    acc + _mul_pow2(term, scan.SPLIT_BITS * part + scan.ENC_LIMB_BITS * lev, prime)
                ).remainder(prime)
        res = acc.permute(3, 1, 4, 2, 0)  # g, Q, x, q, j
        out = torch.empty((g, nq, 3, n), dtype=torch.int64, device=device)
        out[:, :, 0] = res[:, :, 0, 0]
        out[:, :, 1] = (res[:, :, 0, 1] + res[:, :, 1, 0]).remainder(prime)
        out[:, :, 2] = res[:, :, 1, 1]
        outs.append(_to_numpy_u64(out))
    return outs


class TorchScanner:
    """Device-resident copies of the host's block groups, scanned with torch.

    Groups are keyed as the host keys them (block ids and versions): a changed group is uploaded
    again, unchanged ones stay on the device between queries.
    """

    def __init__(self, device: str = "cpu") -> None:
        torch = _torch()
        self.device = torch.device(device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("scan device 'cuda' was asked for, but torch sees no CUDA device")
        self._groups: dict[Any, Any] = {}
        self._splits: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def _resident(self, groups: list[tuple[Any, np.ndarray]]) -> list[tuple[Any, Any]]:
        torch = _torch()
        with self._lock:
            keys = {key for key, _a in groups}
            self._groups = {k: v for k, v in self._groups.items() if k in keys}
            self._splits = {k: v for k, v in self._splits.items() if k in keys}
            out = []
            for key, array in groups:
                if key not in self._groups:
                    self._groups[key] = torch.from_numpy(array).to(self.device)
                out.append((key, self._groups[key]))
            return out

    def scan_plain(
        self, groups: list[tuple[Any, np.ndarray]], query: scan.PlainQuery, prime: int
    ) -> list[np.ndarray]:
        return [scan_plain(t, query, prime) for _k, t in self._resident(groups)]

    def scan_encrypted(
        self, groups: list[tuple[Any, np.ndarray]], enc: np.ndarray, prime: int
    ) -> list[np.ndarray]:
        resident = self._resident(groups)
        with self._lock:
            for key, tensor in resident:
                if key not in self._splits:
                    self._splits[key] = split_blocks(tensor)
            splits = [self._splits[key] for key, _t in resident]
        return scan_encrypted(splits, enc, prime)

    def memory_bytes(self) -> int:
        """Bytes held on the device by resident blocks and their encrypted-query split copies."""
        tensors = [*self._groups.values(), *self._splits.values()]
        return int(sum(t.numel() * t.element_size() for t in tensors))
