"""The store scan on each host device this machine has: numpy (the default) against torch (the GPU code).

Random ciphertext-shaped blocks (the scan's cost depends only on shapes); median of several runs, one
query and a batch of 16, plaintext- and encrypted-query modes; results are checked bit-identical.

    python bench/scan_devices.py [--records 100000] [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from encrypted_store import scan, scan_torch  # noqa: E402
from encrypted_store.ckks import QUERY_BITS, N  # noqa: E402

PRIME = 8796092858369  # the store's 43-bit prime (1 mod 2N)


def median_s(fn: Any, runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def timings(
    group: Any, split: Any, group_t: Any, split_t: Any, query: Any, enc: Any, runs: int, threads: int
) -> dict:
    return {
        "numpy_plain_s": round(median_s(lambda: scan.scan_plain(group, query, PRIME), runs), 4),
        "torch_plain_s": round(median_s(lambda: scan_torch.scan_plain(group_t, query, PRIME), runs), 4),
        "numpy_encrypted_s": round(
            median_s(lambda: scan.scan_encrypted([split], enc, PRIME, workers=threads), runs), 4
        ),
        "torch_encrypted_s": round(
            median_s(lambda: scan_torch.scan_encrypted([split_t], enc, PRIME), runs), 4
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import torch

    dim, blocks = 384, -(-args.records // N)
    rng = np.random.default_rng(0)
    group = rng.integers(-(PRIME // 2), PRIME // 2, size=(dim, N, blocks, 2)).astype(np.float64)
    split = scan.split_blocks(group)
    group_t = torch.from_numpy(group)
    split_t = scan_torch.split_blocks(group_t)
    threads = os.cpu_count() or 1
    out: dict[str, Any] = {
        "machine": f"{platform.machine()}, {threads} cores, load {os.getloadavg()[0]:.1f}",
        "records": args.records,
        "torch_threads": torch.get_num_threads(),
        "runs": args.runs,
    }
    for nq in (1, 16):
        q = rng.standard_normal((nq, dim))
        q /= np.linalg.norm(q, axis=1, keepdims=True)
        query = scan.plain_query(q.astype(np.float32), QUERY_BITS)
        enc = rng.integers(0, PRIME, size=(nq, dim, 2, N)).astype(np.uint64)
        same = np.array_equal(
            scan.scan_plain(group, query, PRIME), scan_torch.scan_plain(group_t, query, PRIME)
        )
        same &= np.array_equal(
            scan.scan_encrypted([split], enc, PRIME, workers=threads)[0],
            scan_torch.scan_encrypted([split_t], enc, PRIME)[0],
        )
        out[f"q{nq}"] = {**timings(group, split, group_t, split_t, query, enc, args.runs, threads)}
        out[f"q{nq}"]["bit_identical"] = bool(same)
    print(json.dumps(out, indent=None if args.json else 1))


if __name__ == "__main__":
    main()
