"""Read a sequence's KV cache back from llama.cpp (llama_state_seq_get_data): positions, K/V norms.

An independent view of what the cache holds, for tests and the benchmark; about 31 us per cached
token, so never on the per-token path. Format of llama-cpp-python 0.3.36 (llama-kv-cache.cpp).
"""

from __future__ import annotations

import ctypes
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

MAGIC = 0xAF143CD8
DTYPES = {0: np.float32, 1: np.float16}


@dataclass(frozen=True)
class SeqState:
    """Cells of one sequence sorted by position; norms have shape (layers, kv_heads, cells)."""

    positions: np.ndarray
    k_norm: np.ndarray
    v_norm: np.ndarray
    nbytes: int


def _dtype(code: int) -> Any:
    if code not in DTYPES:
        raise ValueError(f"unsupported KV cache type {code} (only f32 and f16 are parsed)")
    return DTYPES[code]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.off = data, 0

    def take(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        values = struct.unpack_from(fmt, self.data, self.off)
        self.off += size
        return values[0] if len(values) == 1 else values

    def array(self, dtype: Any, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.off)
        self.off += out.nbytes
        return out


def seq_bytes(llm: Any, seq_id: int = 0) -> int:
    """Bytes of KV data the sequence holds now (what a save of it would write)."""
    from llama_cpp import llama_cpp as C

    return int(C.llama_state_seq_get_size(llm.ctx, seq_id))


def read_seq_state(llm: Any, seq_id: int = 0) -> SeqState:
    """Parse the sequence's cells (f16 or f32 caches, one stream, no cell extensions)."""
    from llama_cpp import llama_cpp as C

    n_head = int(C.llama_model_n_head_kv(llm.model))
    size = C.llama_state_seq_get_size(llm.ctx, seq_id)
    buf = (ctypes.c_uint8 * size)()
    written = C.llama_state_seq_get_data(llm.ctx, buf, size, seq_id)
    r = _Reader(bytes(buf)[:written])
    if r.take("<I") != MAGIC or r.take("<i") != seq_id:
        raise ValueError("unexpected llama.cpp sequence state header")
    if r.take("<I") != 1:
        raise ValueError("only single-stream caches are supported")
    cells = r.take("<I")
    positions = np.empty(cells, np.int64)
    for i in range(cells):
        positions[i] = r.take("<i")
        n_seq = r.take("<I")
        r.off += 4 * n_seq  # the cell's seq ids
    v_trans, n_layer = r.take("<I"), r.take("<I")
    k_norm = np.empty((n_layer, n_head, cells))
    v_norm = np.empty((n_layer, n_head, cells))
    for il in range(n_layer):
        dtype, row = _dtype(r.take("<i")), r.take("<Q")
        k = r.array(dtype, cells * row // np.dtype(dtype).itemsize).reshape(cells, n_head, -1)
        k_norm[il] = np.linalg.norm(k.astype(np.float64), axis=2).T
    for il in range(n_layer):
        dtype = _dtype(r.take("<i"))
        if v_trans:
            _el, n_embd = r.take("<I"), r.take("<I")
            v = r.array(dtype, n_embd * cells).reshape(n_embd, cells).T.reshape(cells, n_head, -1)
        else:
            row = r.take("<Q")
            v = r.array(dtype, cells * row // np.dtype(dtype).itemsize).reshape(cells, n_head, -1)
        v_norm[il] = np.linalg.norm(v.astype(np.float64), axis=2).T
    order = np.argsort(positions, kind="stable")
    return SeqState(positions[order], k_norm[:, :, order], v_norm[:, :, order], int(written))
