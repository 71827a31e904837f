"""The GPU half in one run: PagedEviction at Llama-3.2-1B's shape, the store scan, MiniLM embedding.

Runs offline on one CUDA GPU in under 8 minutes and writes one JSON file; `--smoke` runs the same code
on the CPU at tiny sizes (the tests do). Needs torch and transformers; vLLM and TenSEAL are not needed
(the scan data is random ciphertext-shaped integers: the scan's cost depends only on the shapes).

    python bench/gpu_check.py [--smoke] [--out PATH] [--parts kv,scan,embed]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _prime(bits: int = 43, n: int = 4096) -> int:
    """The largest `bits`-bit prime = 1 mod 2n (NTT-friendly, as SEAL's CoeffModulus.Create picks)."""

    def is_prime(m: int) -> bool:
        if m % 2 == 0:
            return False
        d, s = m - 1, 0
        while d % 2 == 0:
            d, s = d // 2, s + 1
        for a in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
            x = pow(a, d, m)
            if x in (1, m - 1):
                continue
            for _ in range(s - 1):
                x = x * x % m
                if x == m - 1:
                    break
            else:
                return False
        return True

    m = ((1 << bits) - 1) // (2 * n) * (2 * n) + 1
    while not is_prime(m):
        m -= 2 * n
    return m


class Timer:
    def __init__(self, torch: Any, device: str) -> None:
        self.sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def median(self, fn: Any, runs: int) -> float:
        fn()  # warm-up: kernels, allocator
        times = []
        for _ in range(runs):
            self.sync()
            t0 = time.perf_counter()
            fn()
            self.sync()
            times.append(time.perf_counter() - t0)
        return statistics.median(times)


def kv_part(torch: Any, device: str, smoke: bool) -> list[dict[str, Any]]:
    """(a) PagedEviction reference with and without eviction: KV bytes, decode tokens/s, peak memory."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from models.eviction import make_policy
    from models.hf_reference import EvictingSession

    shape = (
        {"num_hidden_layers": 1, "vocab_size": 1000}
        if smoke
        else {"num_hidden_layers": 16, "vocab_size": 128256}
    )
    cfg = LlamaConfig(  # meta-llama/Llama-3.2-1B's shape; weights are random (no hub access)
        **shape,
        hidden_size=2048,
        intermediate_size=8192,
        num_attention_heads=32,
        num_key_value_heads=8,
        head_dim=64,
        max_position_embeddings=131072,
        rope_theta=500000.0,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM(cfg).to(torch.bfloat16).eval()
    timer = Timer(torch, device)
    new = 16 if smoke else 256
    runs = []
    for context in (256,) if smoke else (8192, 32768):
        gen = torch.Generator().manual_seed(1)
        prompt = torch.randint(10, cfg.vocab_size, (context,), generator=gen).tolist()
        for label, budget in (("full", None), ("paged@25%", context // 4), ("paged@50%", context // 2)):
            policy = make_policy("paged", budget, 32) if budget else None
            if device == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            session = EvictingSession(model, policy)
            timer.sync()
            t0 = time.perf_counter()
            tok = int(session.prefill(prompt).argmax())
            timer.sync()
            t1 = time.perf_counter()
            for _ in range(new - 1):
                tok = int(session.step(tok).argmax())
            timer.sync()
            t2 = time.perf_counter()
            run = {
                "context": context,
                "config": label,
                "budget": budget,
                "prefill_s": round(t1 - t0, 3),
                "decode_tok_s": round((new - 1) / (t2 - t1), 1),
                "kv_tokens": session.kv_tokens,
                "kv_bytes": session.kv_bytes,
                "max_blocks": session.max_blocks,
                "peak_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)
                if device == "cuda"
                else None,
            }
            print(json.dumps(run), flush=True)
            runs.append(run)
            del session
    for run in runs:  # ratios against the full cache at the same context
        full = next(r for r in runs if r["context"] == run["context"] and r["budget"] is None)
        run["kv_bytes_vs_full"] = round(run["kv_bytes"] / full["kv_bytes"], 3)
        run["decode_vs_full"] = round(run["decode_tok_s"] / full["decode_tok_s"], 3)
    return runs


def _random_group(torch: Any, device: str, dim: int, blocks: int, prime: int) -> Any:
    """(D, N, g, 2) float64 centred residues, generated block by block on the device."""
    group = torch.empty((dim, 4096, blocks, 2), dtype=torch.float64, device=device)
    gen = torch.Generator(device=device).manual_seed(2)
    half = prime // 2
    for b in range(blocks):
        group[:, :, b] = torch.randint(-half, half, (dim, 4096, 2), generator=gen, device=device).to(
            torch.float64
        )
    return group


def scan_part(torch: Any, device: str, smoke: bool) -> list[dict[str, Any]]:
    """(b) plaintext- and encrypted-query scans at 100k and 1M records, single and 16 queries."""
    from encrypted_store import scan, scan_torch
    from encrypted_store.ckks import QUERY_BITS

    dim, prime = 384, _prime()
    timer = Timer(torch, device)
    rng = np.random.default_rng(3)
    out = []
    for records in (4096,) if smoke else (100_000, 1_000_000):
        blocks = -(-records // 4096)
        if device == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        group = _random_group(torch, device, dim, blocks, prime)
        t0 = time.perf_counter()
        split = scan_torch.split_blocks(group)
        timer.sync()
        split_s = time.perf_counter() - t0
        row: dict[str, Any] = {"records": records, "blocks": blocks, "split_s": round(split_s, 3)}
        for nq in (1, 16):
            q = rng.standard_normal((nq, dim))
            q /= np.linalg.norm(q, axis=1, keepdims=True)
            query = scan.plain_query(q.astype(np.float32), QUERY_BITS)
            enc = rng.integers(0, prime, size=(nq, dim, 2, 4096), dtype=np.int64).astype(np.uint64)
            runs = 2 if smoke else 5

            def plain(group: Any = group, query: Any = query) -> Any:
                return scan_torch.scan_plain(group, query, prime)

            def encrypted(split: Any = split, enc: np.ndarray = enc) -> Any:
                return scan_torch.scan_encrypted([split], enc, prime)

            row[f"plain_q{nq}_s"] = round(timer.median(plain, runs), 5)
            row[f"encrypted_q{nq}_s"] = round(timer.median(encrypted, runs), 5)
        if device == "cuda":
            row["peak_mem_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        row["resident_gib"] = round((group.numel() * 8 + split.numel() * 4) / 2**30, 2)
        # exactness: one block on the device against the numpy scan on the host, bit for bit
        one = group[:, :, :1].contiguous()
        host = one.cpu().numpy()
        q1 = scan.plain_query(q[:2].astype(np.float32), QUERY_BITS)
        same_plain = np.array_equal(scan_torch.scan_plain(one, q1, prime), scan.scan_plain(host, q1, prime))
        enc2 = enc[:2]
        dev_enc = scan_torch.scan_encrypted([scan_torch.split_blocks(one)], enc2, prime)[0]
        host_enc = scan.scan_encrypted([scan.split_blocks(host)], enc2, prime)[0]
        row["bit_identical_to_numpy"] = bool(same_plain and np.array_equal(dev_enc, host_enc))
        print(json.dumps(row), flush=True)
        out.append(row)
        del group, split
    return out


def _texts(count: int, words: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    vocab = [f"w{i:04d}" for i in range(3000)]
    return [" ".join(rng.choice(vocab, size=words)) for _ in range(count)]


def embed_part(torch: Any, device: str, smoke: bool) -> dict[str, Any]:
    """(c) MiniLM chunks/s (the bundled model when installed, else MiniLM's shape with random weights)."""
    texts = _texts(32 if smoke else 4096, 100, 4)  # ~130 word pieces each, like an indexed chunk
    probe = texts[:16]
    try:
        from assistant.embedding import Embedder, default_model_path

        default_model_path()
        gpu = Embedder(device=device)
        cpu = Embedder(device="cpu", batch_size=16)
        encode, encode_cpu, which = gpu.embed, cpu.embed, "all-MiniLM-L6-v2 (bundled)"
    except Exception:  # the device image has no bundled model: same shape, random weights
        from transformers import BertConfig, BertModel

        cfg = BertConfig(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536)
        torch.manual_seed(5)
        net = BertModel(cfg).eval()
        which = "MiniLM-L6 shape, random weights"

        def run(batch: list[str], dev: str) -> np.ndarray:
            model = net.to(dev)
            ids = torch.tensor(
                [[101, *[1000 + int(w[1:]) for w in t.split()][:128], 102] for t in batch], device=dev
            )
            with torch.no_grad():
                hidden = model(input_ids=ids).last_hidden_state.mean(dim=1)
            return torch.nn.functional.normalize(hidden, dim=-1).float().cpu().numpy()

        def encode(batch: list[str]) -> np.ndarray:
            return np.concatenate([run(batch[i : i + 512], device) for i in range(0, len(batch), 512)])

        def encode_cpu(batch: list[str]) -> np.ndarray:
            return run(batch, "cpu")

    timer = Timer(torch, device)
    seconds = timer.median(lambda: encode(texts), 1 if smoke else 3)
    a, b = encode(probe), encode_cpu(probe)
    cosine = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    result = {
        "model": which,
        "chunks": len(texts),
        "chunks_per_s": round(len(texts) / seconds, 1),
        "max_cosine_gap_vs_cpu": float(np.max(1.0 - cosine)),
    }
    print(json.dumps(result), flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU (checks the script)")
    parser.add_argument("--out", default=None, help="JSON path (default: $OUT/gpu_check.json or bench/out/)")
    parser.add_argument("--parts", default="kv,scan,embed")
    args = parser.parse_args(argv)
    smoke = args.smoke or os.environ.get("GPU_CHECK_SMOKE") == "1"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch

    device = "cpu" if smoke else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        print("gpu_check: no CUDA device visible to torch (use --smoke on a CPU)", file=sys.stderr)
        return 2
    out = Path(args.out or Path(os.environ.get("OUT", ROOT / "bench" / "out")) / "gpu_check.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    parts = set(args.parts.split(","))
    result: dict[str, Any] = {
        "device": "cpu (smoke)" if smoke else torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "smoke": smoke,
    }
    started = time.perf_counter()
    steps = (("scan", scan_part), ("embed", embed_part), ("kv", kv_part))  # cheapest first
    for name, fn in steps:
        if name in parts:
            t0 = time.perf_counter()
            result[name] = fn(torch, device, smoke)
            result[f"{name}_wall_s"] = round(time.perf_counter() - t0, 1)
            out.write_text(json.dumps(result, indent=1))  # partial results survive a timeout
    result["wall_s"] = round(time.perf_counter() - started, 1)
    out.write_text(json.dumps(result, indent=1))
    print("wrote", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
