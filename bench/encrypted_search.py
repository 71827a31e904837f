"""Benchmark of the encrypted store: speed, precision and size, side by side with numpy and SEAL calls.

Usage: python bench/encrypted_search.py --records 100000 --json
All figures are medians over repeated runs measured in this one process, next to a float32 numpy
brute force (the floor) and the one-SEAL-call-per-ciphertext baseline on the same ciphertexts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.config import load_settings  # noqa: E402
from assistant.wiring import create_keys, open_store  # noqa: E402
from encrypted_store.api import RecordIn  # noqa: E402
from encrypted_store.ckks import N  # noqa: E402
from encrypted_store.store import EncryptedStore  # noqa: E402

FAST_KDF = {"time_cost": 1, "memory_kib": 8192, "parallelism": 1}
PER_BLOCK = N - 32  # each block holds 32 canaries at secret slots


def dataset(n: int, dim: int, queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Clustered unit vectors (near neighbours are close: a harsher ranking test than iid noise)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(10, n // 100), dim)).astype(np.float32)
    x = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 65536):
        stop = min(n, start + 65536)
        pick = rng.integers(0, len(centres), stop - start)
        x[start:stop] = centres[pick] + 0.6 * rng.standard_normal((stop - start, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = x[rng.integers(0, n, queries)] + 0.3 * rng.standard_normal((queries, dim)).astype(np.float32) / 3
    return x, (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def build(store: EncryptedStore, x: np.ndarray) -> float:
    """Add every record through the public API (sealing + CKKS + SQLite); returns records/s."""
    start = time.perf_counter()
    for lo in range(0, len(x), PER_BLOCK):
        batch = [
            RecordIn(f"r{i}", f"record {i}", x[i], f"doc{i // 10}", {"source": "bench"})
            for i in range(lo, min(len(x), lo + PER_BLOCK))
        ]
        store.add(batch)
    store.flush()
    return len(x) / (time.perf_counter() - start)


CPU: dict[str, float] = {}  # median process CPU seconds per measured name (see median_time)


def median_time(fn: Any, repeats: int, name: str = "") -> float:
    """Median wall seconds; the median CPU seconds go to CPU[name] (the box is shared: wall time
    includes waiting for a core, CPU time does not; BLAS runs on one thread, so they compare)."""
    times, cpu = [], []
    for i in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn(i)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    if name:
        CPU[name] = statistics.median(cpu)
    return statistics.median(times)


def record_index(store: EncryptedStore) -> Any:
    """position -> record number, read from the opened rows (slots are in a secret order)."""
    state = store.state()
    table: dict[int, int] = {}
    positions = state.live_positions().tolist()
    for lo in range(0, len(positions), 5000):
        for row in store.host.fetch(positions=positions[lo : lo + 5000]):
            rec = store._open(row, state.version_at(row.pos))
            if rec is not None:
                table[int(row.pos)] = int(rec.id[1:])
    return lambda pos: np.array([table[int(p)] for p in pos], dtype=np.int64)


def agreement(
    store: EncryptedStore, x: np.ndarray, q: np.ndarray, batch: int, encrypted: bool
) -> dict[str, float]:
    exact64 = x.astype(np.float64)
    same_raw = same_final = same_f32 = 0
    max_err = 0.0
    index_of = record_index(store)
    for lo in range(0, len(q), batch):
        qs = q[lo : lo + batch]
        scores, positions = store.encrypted_scores(qs, encrypted_query=encrypted)
        idx = index_of(positions)
        exact = qs.astype(np.float64) @ exact64[idx].T
        max_err = max(max_err, float(np.abs(scores - exact).max()))
        f32 = qs @ x[idx].T
        window = (16 if encrypted else 4) * 10 + 4 * (16 if encrypted else 4)
        for row in range(len(qs)):
            truth = set(np.argpartition(-exact[row], 10)[:10])
            same_raw += set(np.argpartition(-scores[row], 10)[:10]) == truth
            same_f32 += set(np.argpartition(-f32[row], 10)[:10]) == truth
            cand = np.argpartition(-scores[row], window)[:window]  # the client's re-rank window
            same_final += set(cand[np.argsort(-exact[row][cand])[:10]]) == truth
    n = len(q)
    return {"top10": same_final / n, "top10_raw": same_raw / n, "top10_f32": same_f32 / n, "max_err": max_err}


def seal_baseline(store: EncryptedStore, q: np.ndarray, blocks: int) -> float:
    """One SEAL multiply_plain + add per ciphertext, on the store's own ciphertexts; seconds per block."""
    from tenseal import sealapi

    from encrypted_store.ckks import _context

    kit = store.kit
    ctx = _context(kit.prime)
    evaluator, encoder = sealapi.Evaluator(ctx), sealapi.CKKSEncoder(ctx)
    store.host._refresh()
    group = store.host._groups[0][1]
    probe = sealapi.Ciphertext()
    sealapi.Encryptor(ctx, sealapi.KeyGenerator(ctx).secret_key()).encrypt_zero_symmetric(probe)
    import struct

    hdr = struct.Struct("<HBBBBHQ")
    head = struct.pack("<4Q", *probe.parms_id()) + struct.pack("<BQQQdQ", 1, 2, N, 1, kit.scale, 1)
    cts = []
    with tempfile.TemporaryDirectory() as tmp:
        for b in range(min(blocks, group.shape[1])):
            row = []
            for d in range(store.dim):
                coeffs = np.mod(group[d, :, b, :].T.astype(np.int64), kit.prime).astype("<u8")
                body = head + hdr.pack(0xA15E, 16, 4, 3, 0, 0, 24 + 8 * 2 * N) + struct.pack("<Q", 2 * N)
                body += coeffs.tobytes()
                path = os.path.join(tmp, "ct")
                with open(path, "wb") as fh:
                    fh.write(hdr.pack(0xA15E, 16, 4, 3, 0, 0, 16 + len(body)) + body)
                ct = sealapi.Ciphertext()
                ct.load(ctx, path)
                row.append(ct)
            cts.append(row)
    start, start_cpu = time.perf_counter(), time.process_time()
    plains = []
    for d in range(store.dim):
        pt = sealapi.Plaintext()
        encoder.encode(float(q[d]), 2.0**17, pt)
        plains.append(pt)
    for row in cts:
        acc = sealapi.Ciphertext()
        tmp_ct = sealapi.Ciphertext()
        evaluator.multiply_plain(row[0], plains[0], acc)
        for d in range(1, store.dim):
            evaluator.multiply_plain(row[d], plains[d], tmp_ct)
            evaluator.add_inplace(acc, tmp_ct)
    CPU["sealapi_per_block"] = (time.process_time() - start_cpu) / len(cts)
    return (time.perf_counter() - start) / len(cts)


def synthetic_scan(records: int, dim: int, repeats: int) -> dict[str, Any]:
    """Time only the server scan on `records` records of stand-in coefficients (no encryption, no
    SQLite): the scan's cost does not depend on the values. For sizes too slow to build here."""
    from threadpoolctl import threadpool_limits

    from encrypted_store import scan
    from encrypted_store.backend import GROUP_BLOCKS
    from encrypted_store.ckks import params_dict

    prime = params_dict()["prime"]
    blocks = -(-records // PER_BLOCK)
    groups = []
    for start in range(0, blocks, GROUP_BLOCKS):
        g = min(GROUP_BLOCKS, blocks - start)
        groups.append(np.full((dim, N, g, 2), float(prime // 3), dtype=np.float64))
    rng = np.random.default_rng(1)
    q = rng.standard_normal((max(repeats, 5), dim)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    flat = np.ones((records, dim), dtype=np.float32)
    out: dict[str, Any] = {"records": records, "synthetic_scan_only": True, "blocks": blocks}
    with threadpool_limits(1, user_api="blas"):
        out["scan_only_s"] = median_time(
            lambda i: [scan.scan_plain(g, scan.plain_query(q[i : i + 1], 17), prime) for g in groups],
            repeats,
            "scan_only",
        )
        out["scan_5_queries_s"] = median_time(
            lambda i: [scan.scan_plain(g, scan.plain_query(q[:5], 17), prime) for g in groups],
            repeats,
            "scan_5",
        )
        out["numpy_s"] = median_time(lambda i: np.argpartition(-(flat @ q[i]), 10)[:10], repeats, "numpy")
        enc = rng.integers(0, prime, size=(1, dim, 2, N))
        splits = [scan.split_blocks(g) for g in groups]  # made once, on the first encrypted query
        out["scan_encrypted_only_s"] = median_time(
            lambda i: scan.scan_encrypted(splits, enc, prime), max(1, repeats // 2), "scan_encrypted"
        )
    out["cpu_s"] = {k: round(v, 4) for k, v in CPU.items()}
    out["load_average_1min"] = os.getloadavg()[0]
    return out


def fetch_protocol(records: int, queries: int, baseline: str) -> dict[str, Any]:
    """The remote search protocol of this branch next to commit `baseline`'s, through a real
    `assistant store serve` on 127.0.0.1: time and bytes on the wire per search (bench/store_fetch.py
    runs once under each version's code, one after the other, in this one invocation)."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    out: dict[str, Any] = {"records": records, "queries": queries, "baseline_commit": baseline}
    with tempfile.TemporaryDirectory(prefix="bench-old-src-") as old:
        archive = subprocess.run(
            ["git", "archive", baseline, "encrypted_store", "assistant", "models"],
            cwd=root,
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", old], input=archive.stdout, check=True)
        for name, src in (("this_branch", str(root)), ("baseline", old)):
            cmd = [sys.executable, str(root / "bench" / "store_fetch.py"), "--records", str(records)]
            cmd += ["--queries", str(queries)]
            env = {**os.environ, "PYTHONPATH": src}
            run = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            out[name] = json.loads(run.stdout.strip().splitlines()[-1])
    for side in ("this_branch", "baseline"):
        r = out[side]
        r["encrypted_vs_plain"] = round(r["encrypted"]["query_s"] / r["plain"]["query_s"], 2)
    out["load_average_1min"] = os.getloadavg()[0]
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=10000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=1000, help="queries for top-10 agreement")
    ap.add_argument("--enc-queries", type=int, default=50, help="queries for encrypted-mode agreement")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--baseline-blocks", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--synthetic-scan", action="store_true", help="time only the scan (for 1M+)")
    ap.add_argument(
        "--fetch-protocol", metavar="COMMIT", help="compare the remote search protocol with this commit's"
    )
    args = ap.parse_args(argv)
    if args.fetch_protocol:
        result = fetch_protocol(args.records, max(3, args.repeats), args.fetch_protocol)
        print(json.dumps(result))
        return result
    if args.synthetic_scan:
        result = synthetic_scan(args.records, args.dim, args.repeats)
        print(json.dumps(result) if args.json else result)
        return result
    x, q = dataset(args.records, args.dim, max(args.queries, 20))
    with tempfile.TemporaryDirectory(prefix="bench-store-") as home:
        settings = load_settings(home=Path(home), store_url=None)
        store = open_store(settings, create_keys(settings, "bench", kdf=FAST_KDF), dim=args.dim)
        add_rate = build(store, x)
        store.search(q[0], k=10)  # loads the block cache
        out: dict[str, Any] = {
            "records": args.records,
            "dim": args.dim,
            "add_records_per_s": round(add_rate, 1),
        }
        out["plain_query_s"] = median_time(lambda i: store.search(q[i], k=10), args.repeats, "plain_query")
        out["plain_5_queries_s"] = median_time(
            lambda i: store.search(q[5 * i : 5 * i + 5], k=10), args.repeats
        )
        pq = __import__("encrypted_store.scan", fromlist=["plain_query"]).plain_query
        out["scan_only_s"] = median_time(
            lambda i: store.host.scan_plain(pq(q[i : i + 1], 17)),
            args.repeats,
            "scan_only",
        )
        enc_repeats = max(3, args.repeats // 2)
        store.kit.prefetch = False
        out["encrypted_query_cold_s"] = median_time(
            lambda i: store.search(q[i], k=10, encrypted_query=True), enc_repeats, "encrypted_query_cold"
        )
        out["encrypted_query_offline_s"] = median_time(
            lambda i: store.kit._make_zeros(args.dim), 3, "offline"
        )
        warm, warm_cpu = [], []
        refill, store.kit._refill = store.kit._refill, lambda count: None  # fill by hand, untimed
        for i in range(enc_repeats):
            store.kit._pool[args.dim] = store.kit._make_zeros(args.dim)  # the offline half
            start, start_cpu = time.perf_counter(), time.process_time()
            store.search(q[i], k=10, encrypted_query=True)
            warm.append(time.perf_counter() - start)
            warm_cpu.append(time.process_time() - start_cpu)
        CPU["encrypted_query"] = statistics.median(warm_cpu)
        store.kit._refill = refill
        store.kit.prefetch = False
        out["encrypted_query_s"] = statistics.median(warm)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, user_api="blas"):
            out["numpy_s"] = median_time(
                lambda i: np.argpartition(-(x @ q[i]), 10)[:10], args.repeats, "numpy"
            )
        per_block = seal_baseline(store, q[0], args.baseline_blocks)
        blocks = store.backend.info()["blocks"]
        out["sealapi_baseline_s"] = round(per_block * blocks, 4)
        CPU["sealapi_baseline"] = CPU["sealapi_per_block"] * blocks
        out["sealapi_baseline_note"] = (
            f"measured on {min(args.baseline_blocks, blocks)} block(s), x{blocks} blocks"
        )
        plain = agreement(store, x, q[: args.queries], 50, encrypted=False)
        enc = agreement(store, x, q[: args.enc_queries], 10, encrypted=True)
        out["top10_agreement"] = plain["top10"]
        out["top10_agreement_raw_he"] = plain["top10_raw"]
        out["top10_agreement_numpy_f32"] = plain["top10_f32"]
        out["max_score_error"] = plain["max_err"]
        out["encrypted_top10_agreement"] = enc["top10"]
        out["encrypted_max_score_error"] = enc["max_err"]
        out["agreement_queries"] = args.queries
        ct_bytes = blocks * N * 2 * args.dim * 8
        out["bytes_per_record"] = round(ct_bytes / args.records, 1)
        store.close()
        db_bytes = sum(p.stat().st_size for p in Path(home).glob("store.db*"))
        out["db_bytes_per_record"] = round(db_bytes / args.records, 1)
        out["float32_bytes_per_record"] = args.dim * 4
        out["server_key_bytes"] = 0  # no evaluation keys: the server holds only N and the prime
        out["speedup_vs_sealapi"] = round(out["sealapi_baseline_s"] / out["plain_query_s"], 2)
        out["plain_vs_numpy"] = round(out["plain_query_s"] / out["numpy_s"], 2)
        out["encrypted_vs_plain"] = round(out["encrypted_query_s"] / out["plain_query_s"], 2)
        out["encrypted_cold_vs_plain"] = round(out["encrypted_query_cold_s"] / out["plain_query_s"], 2)
        out["cpu_s"] = {k: round(v, 4) for k, v in CPU.items() if k != "sealapi_per_block"}
        out["load_average_1min"] = os.getloadavg()[0]
    for key, value in out.items():
        if isinstance(value, float):
            out[key] = round(value, 6)
    if args.json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            print(f"{key:28} {value}")
    return out


if __name__ == "__main__":
    main()
