"""The torch scan (the GPU host's code) on the CPU: bit-identical to the numpy scan, end to end too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from encrypted_store import scan, scan_torch
from encrypted_store.backend import LocalBackend
from encrypted_store.ckks import QUERY_BITS, N
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
DIM = 384
PRIME = 8796092858369  # a 43-bit prime = 1 mod 8192, the size the store uses


def _group(blocks: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(-(PRIME // 2), PRIME // 2, size=(DIM, N, blocks, 2)).astype(np.float64)


def _queries(count: int, seed: int) -> np.ndarray:
    q = np.random.default_rng(seed).standard_normal((count, DIM))
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def test_plain_scan_is_bit_identical_to_numpy() -> None:
    import torch

    group = _group(2, 1)
    query = scan.plain_query(_queries(3, 2), QUERY_BITS)
    ours = scan_torch.scan_plain(torch.from_numpy(group), query, PRIME)
    ref = scan.scan_plain(group, query, PRIME)
    assert ours.dtype == np.uint64 and ours.shape == ref.shape == (2, 3, 2, N)
    assert np.array_equal(ours, ref)
    assert int(ours.max()) < PRIME


def test_encrypted_scan_is_bit_identical_to_numpy() -> None:
    import torch

    group = _group(1, 3)
    enc = np.random.default_rng(4).integers(0, PRIME, size=(2, DIM, 2, N)).astype(np.uint64)
    split_t = scan_torch.split_blocks(torch.from_numpy(group))
    split_n = scan.split_blocks(group)
    assert np.array_equal(split_t.numpy(), split_n)
    ours = scan_torch.scan_encrypted([split_t], enc, PRIME)[0]
    ref = scan.scan_encrypted([split_n], enc, PRIME)[0]
    assert ours.shape == ref.shape == (1, 2, 3, N)
    assert np.array_equal(ours, ref)


def test_one_residue_checked_against_python_integers() -> None:
    """Guards both scans at once: a shared mistake would pass the comparisons above."""
    import torch

    group = _group(1, 5)
    q = _queries(1, 6)
    query = scan.plain_query(q, QUERY_BITS)
    ours = scan_torch.scan_plain(torch.from_numpy(group), query, PRIME)
    qint = [int(v) for v in np.rint(q[0].astype(np.float64) * (1 << QUERY_BITS))]
    j, poly = 17, 1
    want = sum(qint[d] * int(group[d, j, 0, poly]) for d in range(DIM)) % PRIME
    assert int(ours[0, 0, poly, j]) == want


def test_mul_pow2_never_overflows() -> None:
    import torch

    terms = torch.tensor([0, 1, PRIME - 1, PRIME // 3], dtype=torch.int64)
    for bits in (0, 21, 22, 43):
        got = scan_torch._mul_pow2(terms, bits, PRIME).tolist()
        assert got == [(int(t) << bits) % PRIME for t in terms.tolist()]


@pytest.fixture
def ring(isolated_home: Path):  # type: ignore[no-untyped-def]
    from assistant.config import load_settings
    from assistant.wiring import create_keys

    return create_keys(load_settings(), "pw", kdf={"time_cost": 1, "memory_kib": 8192, "parallelism": 1})


def test_store_on_the_torch_host_finds_what_the_numpy_host_finds(tmp_path: Path, ring) -> None:  # type: ignore[no-untyped-def]
    from encrypted_store.api import RecordIn
    from encrypted_store.store import EncryptedStore

    vectors = _queries(300, 7)
    recs = [RecordIn(f"r{i}", f"text {i}", v, f"d{i}", {}) for i, v in enumerate(vectors)]
    results = {}
    for device in (None, "cpu"):
        backend = LocalBackend(tmp_path / f"{device}.db", 1, device)
        store = EncryptedStore(backend, ring)
        store.add(recs)
        store.flush()
        queries = vectors[[3, 150]] + 0.05 * _queries(2, 8)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        plain = store.search(queries, k=5)
        enc = store.search(queries, k=5, encrypted_query=True)
        results[device] = [[h.record.id for h in hits] for hits in plain + enc]
        memory = backend.scan_memory()
        assert memory["device"] == ("numpy" if device is None else "cpu")
        assert memory["bytes"] >= DIM * N * 2 * 8  # one block resident
        store.close()
    assert results[None] == results["cpu"]
    assert results["cpu"][0][0] == "r3" and results["cpu"][1][0] == "r150"


def test_embedder_picks_the_cpu_without_a_gpu() -> None:
    from assistant.embedding import DEFAULT_BATCH_SIZE, Embedder, resolve_device

    assert resolve_device("auto") == "cpu"  # these machines have no GPU
    assert resolve_device("cuda") == "cuda"
    embedder = Embedder()
    assert embedder.device == "cpu" and embedder.batch_size == DEFAULT_BATCH_SIZE
    assert Embedder(batch_size=8).batch_size == 8


def test_serve_on_cuda_without_a_gpu_says_what_to_do() -> None:
    proc = run_cli("store", "serve", "--device", "cuda", "--port", "0", timeout=60)
    assert proc.returncode == 1
    assert "no CUDA GPU" in proc.stderr and "--device numpy" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_gpu_check_smoke_runs_every_part_on_the_cpu(tmp_path: Path) -> None:
    out = tmp_path / "gpu.json"
    env = {**os.environ, "PYTHON": sys.executable}
    proc = subprocess.run(
        [str(ROOT / "bench" / "gpu_check.sh"), "--smoke", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["smoke"] is True
    (scan_row,) = result["scan"]
    assert scan_row["bit_identical_to_numpy"] is True
    assert scan_row["plain_q1_s"] > 0 and scan_row["encrypted_q16_s"] > 0
    assert result["embed"]["chunks_per_s"] > 0 and result["embed"]["max_cosine_gap_vs_cpu"] < 1e-5
    configs = {(r["context"], r["config"]) for r in result["kv"]}
    assert configs == {(256, "full"), (256, "paged@25%"), (256, "paged@50%")}
    paged = next(r for r in result["kv"] if r["config"] == "paged@25%")
    assert paged["kv_bytes_vs_full"] < 0.5  # eviction held the cache near its budget
