"""Per-layer K and V norms observed while llama.cpp computes a batch (its `cb_eval` callback).

A tiny C helper (kv_observer.c), compiled at first use with the system compiler into the user cache
dir, does the work at native speed; without a compiler a Python callback does the same at a
measured 12-20% decode cost. Norm arrays have shape (layers, kv_heads, tokens).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("kv_observer.c")
TENSOR_SIZE = 336  # sizeof(struct ggml_tensor) in llama-cpp-python 0.3.36


class _Tensor(ctypes.Structure):
    """`struct ggml_tensor` from ggml.h (0.3.36); verified against ggml_get_name/ggml_get_data."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("buffer", ctypes.c_void_p),
        ("ne", ctypes.c_int64 * 4),
        ("nb", ctypes.c_size_t * 4),
        ("op", ctypes.c_int),
        ("op_params", ctypes.c_int32 * 16),
        ("flags", ctypes.c_int32),
        ("src", ctypes.c_void_p * 10),
        ("view_src", ctypes.c_void_p),
        ("view_offs", ctypes.c_size_t),
        ("data", ctypes.c_void_p),
        ("name", ctypes.c_char * 64),
        ("extra", ctypes.c_void_p),
        ("padding", ctypes.c_char * 8),
    ]


def cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("private-assistant")) / "llamacpp_kv"


def _ggml_base() -> ctypes.CDLL:
    import llama_cpp

    lib_dir = Path(llama_cpp.__file__).parent / "lib"
    for name in ("libggml-base.so", "libggml-base.dylib", "ggml-base.dll"):
        if (lib_dir / name).exists():
            lib = ctypes.CDLL(str(lib_dir / name))
            lib.ggml_get_name.restype = ctypes.c_char_p
            lib.ggml_get_name.argtypes = [ctypes.c_void_p]
            lib.ggml_get_data.restype = ctypes.c_void_p
            lib.ggml_get_data.argtypes = [ctypes.c_void_p]
            lib.ggml_op_name.restype = ctypes.c_char_p
            lib.ggml_op_name.argtypes = [ctypes.c_int]
            lib.ggml_backend_buffer_is_host.restype = ctypes.c_bool
            lib.ggml_backend_buffer_is_host.argtypes = [ctypes.c_void_p]
            return lib
    raise OSError(f"libggml-base not found in {lib_dir}")


def compile_helper(directory: Path | None = None) -> Path | None:
    """Build kv_observer.c once per source and llama_cpp version; None when no compiler works."""
    import llama_cpp

    source = SOURCE.read_bytes()
    key = hashlib.sha256(source + llama_cpp.__version__.encode() + sys.platform.encode()).hexdigest()
    directory = directory or cache_dir()
    target = directory / f"kv_observer-{key[:16]}.so"
    if target.exists():
        return target
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        out = Path(tmp) / target.name
        cmd = [compiler, "-O2", "-shared", "-fPIC", "-o", str(out), str(SOURCE), "-lm"]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("could not compile the K/V observer (%s); using the Python callback", exc)
            return None
        os.replace(out, target)  # atomic: a concurrent process sees the whole file or none
    return target


class NormObserver:
    """Collects ||K|| and ||V|| per layer, KV head and token for the tokens of one llama_decode.

    Create it before the context (its callback goes into the context params), `configure` it once
    the model is loaded, call `begin` before each decode and `collect` after it.
    """

    def __init__(self, native: bool | None = None, directory: Path | None = None) -> None:
        self._base = _ggml_base()
        self._lib: Any = None
        path = compile_helper(directory) if native in (None, True) else None
        if native is True and path is None:
            raise RuntimeError("the native K/V observer could not be compiled (no C compiler?)")
        if path is not None:
            self._lib = ctypes.CDLL(str(path))
            self._lib.kv_obs_new.restype = ctypes.c_void_p
            for fn in ("kv_obs_k", "kv_obs_v"):
                getattr(self._lib, fn).restype = ctypes.POINTER(ctypes.c_float)
                getattr(self._lib, fn).argtypes = [ctypes.c_void_p]
            for fn in ("kv_obs_free", "kv_obs_begin", "kv_obs_n_obs", "kv_obs_layout", "kv_obs_layers_seen"):
                getattr(self._lib, fn).argtypes = [ctypes.c_void_p]
            self._lib.kv_obs_nodes.restype = ctypes.c_int64
            self._lib.kv_obs_nodes.argtypes = [ctypes.c_void_p]
            self._lib.kv_obs_set_enabled.argtypes = [ctypes.c_void_p, ctypes.c_int]
            self._lib.kv_obs_configure.argtypes = (
                [ctypes.c_void_p] + [ctypes.c_int] * 3 + [ctypes.c_void_p] * 5
            )
            self._lib.kv_obs_tensor_size.restype = ctypes.c_size_t
            if self._lib.kv_obs_tensor_size() != ctypes.sizeof(_Tensor):
                raise RuntimeError("kv_observer.c and the Python ggml_tensor layout disagree")
            self._obs = ctypes.c_void_p(self._lib.kv_obs_new())
            self._cfunc = int(ctypes.cast(self._lib.kv_obs_callback, ctypes.c_void_p).value or 0)
        else:
            self._py = _PythonObserver(self._base)
        self.native = self._lib is not None
        self.n_layer = self.n_head = self.cap = 0

    def callback(self) -> tuple[Any, ctypes.c_void_p]:
        """(cb_eval, cb_eval_user_data) for llama_context_params; keep `self` alive with the context."""
        from llama_cpp import llama_cpp as C

        if self.native:
            self._cb = C.ggml_backend_sched_eval_callback(self._cfunc)
            return self._cb, self._obs
        self._cb = C.ggml_backend_sched_eval_callback(self._py)
        return self._cb, ctypes.c_void_p(None)

    def configure(self, n_layer: int, n_head: int, cap: int) -> None:
        self.n_layer, self.n_head, self.cap = n_layer, n_head, cap
        if not self.native:
            self._py.configure(n_layer, n_head, cap)
            return
        fns = [
            ctypes.cast(getattr(self._base, n), ctypes.c_void_p)
            for n in (
                "ggml_get_name",
                "ggml_get_data",
                "ggml_backend_buffer_is_host",
                "ggml_backend_tensor_get",
            )
        ]
        op_name = ctypes.cast(self._base.ggml_op_name, ctypes.c_void_p)
        if self._lib.kv_obs_configure(self._obs, n_layer, n_head, cap, *fns, op_name) != 0:
            raise MemoryError("could not allocate the K/V norm buffers")
        size = n_layer * n_head * cap
        self._k = np.ctypeslib.as_array(self._lib.kv_obs_k(self._obs), shape=(size,)).reshape(
            n_layer, n_head, cap
        )
        self._v = np.ctypeslib.as_array(self._lib.kv_obs_v(self._obs), shape=(size,)).reshape(
            n_layer, n_head, cap
        )

    def set_enabled(self, on: bool) -> None:
        if self.native:
            self._lib.kv_obs_set_enabled(self._obs, int(on))
        else:
            self._py.enabled = on and self._py.k is not None

    def begin(self) -> None:
        if self.native:
            self._lib.kv_obs_begin(self._obs)
        else:
            self._py.begin()

    @property
    def layout_ok(self) -> bool:
        return (self._lib.kv_obs_layout(self._obs) if self.native else self._py.layout) >= 0

    @property
    def nodes(self) -> int:
        """Nodes observed since configure (60 per ubatch for SmolLM2: K and V of 30 layers)."""
        return int(self._lib.kv_obs_nodes(self._obs) if self.native else self._py.nodes)

    def collect(self, n: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Norms of the last decode's `n` tokens, or None when not every layer was observed."""
        k: np.ndarray | None
        v: np.ndarray | None
        if self.native:
            n_obs, seen = self._lib.kv_obs_n_obs(self._obs), self._lib.kv_obs_layers_seen(self._obs)
            k, v = self._k, self._v
        else:
            n_obs, seen, k, v = self._py.n_obs, int(self._py.seen.sum()), self._py.k, self._py.v
        if n_obs != n or seen != 2 * self.n_layer or k is None or v is None:
            return None
        return k[:, :, :n].copy(), v[:, :, :n].copy()

    def close(self) -> None:
        """Free the native buffers; only once the llama.cpp context using the callback is freed."""
        if self.native and self._obs:
            self._lib.kv_obs_set_enabled(self._obs, 0)
            self._lib.kv_obs_free(self._obs)
            self._obs = ctypes.c_void_p(None)
            self._k = self._v = np.zeros((0, 0, 0), np.float32)


class _PythonObserver:
    """The same observation as kv_observer.c in Python: the fallback when nothing compiles."""

    def __init__(self, base: ctypes.CDLL) -> None:
        self._base = base
        self.enabled = False
        self.layout = 0
        self.k: np.ndarray | None = None
        self.v: np.ndarray | None = None
        self.nodes = 0
        self._ops: dict[int, str] = {}
        self.begin()

    def configure(self, n_layer: int, n_head: int, cap: int) -> None:
        self.k = np.zeros((n_layer, n_head, cap), np.float32)
        self.v = np.zeros((n_layer, n_head, cap), np.float32)
        self.seen = np.zeros((2, n_layer), bool)
        self.enabled = self.layout >= 0

    def begin(self) -> None:
        self.base = self.cur_n = self.n_obs = 0
        self.last_il = -1
        if self.k is not None:
            self.seen[:] = False

    def _op(self, op: int) -> str:
        if op not in self._ops:
            self._ops[op] = self._base.ggml_op_name(op).decode()
        return self._ops[op]

    def _kind(self, t: _Tensor) -> int:
        name = t.name
        if t.type != 0 or not (name.startswith(b"Kcur-") or name.startswith(b"Vcur-")):
            return 0
        if name[0:1] == b"K":
            return 1 if self._op(t.op) == "ROPE" else 0
        return 2 if self._op(t.op) == "RESHAPE" else 0

    def __call__(self, ptr: int, ask: bool, _user: int) -> bool:
        try:
            if not self.enabled or not ptr:
                return not ask
            t = _Tensor.from_address(ptr)
            if self.layout == 0:
                ok = self._base.ggml_get_name(ptr) == t.name and self._base.ggml_get_data(ptr) == t.data
                self.layout = 1 if ok else -1
                if not ok:
                    self.enabled = False
                    return not ask
            kind = self._kind(t)
            if ask:
                return kind != 0
            if kind:
                self._observe(t, kind)
            return True
        except BaseException:  # noqa: BLE001 - an exception here would abort the graph silently
            return not ask

    def _observe(self, t: _Tensor, kind: int) -> None:
        assert self.k is not None and self.v is not None
        il = int(t.name[5:])
        dim, heads, n = t.ne[0], t.ne[1], t.ne[2]
        if not 0 <= il < self.k.shape[0] or heads != self.k.shape[1] or t.ne[3] != 1:
            return
        if not self._base.ggml_backend_buffer_is_host(t.buffer):
            return  # device memory: only the native helper copies it out
        if il < self.last_il:
            self.base += self.cur_n
        self.last_il, self.cur_n = il, n
        nb0, nb1, nb2 = t.nb[0], t.nb[1], t.nb[2]
        size = (n - 1) * nb2 + (heads - 1) * nb1 + dim * nb0
        buf = (ctypes.c_char * size).from_address(t.data)
        x = np.ndarray((n, heads, dim), np.float32, buf, strides=(nb2, nb1, nb0))
        rows = min(n, self.k.shape[2] - self.base)
        norms = np.sqrt(np.square(x[:rows], dtype=np.float64).sum(axis=2)).T
        (self.k if kind == 1 else self.v)[il, :, self.base : self.base + rows] = norms
        self.n_obs = max(self.n_obs, self.base + n)
        self.seen[kind - 1, il] = True
        self.nodes += 1
