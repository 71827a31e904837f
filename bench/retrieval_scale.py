"""Query time and bytes per record of hybrid retrieval against dense-only (today), at a given scale.

Synthetic: clustered unit vectors (bench/encrypted_search.dataset) and Zipf-distributed term counts
(80 tokens per chunk over a 50,000-word vocabulary), 10 chunks per document. Both methods run in this
one process, interleaved, on the same store; figures are medians. Used by bench/retrieval_eval.py.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from encrypted_search import FAST_KDF, build, dataset

from assistant import wiring
from assistant.config import Settings
from assistant.pipeline.fusion import FusionParams
from assistant.pipeline.retrieval import retrieve
from encrypted_store import lexical

VOCAB, TOKENS, PER_DOC = 50_000, 80, 10


class TableEmbedder:
    """Query text -> a precomputed vector (the timing leaves the embedder out: it is the same for both)."""

    name = "table"

    def __init__(self, table: dict[str, np.ndarray]) -> None:
        self.table = table

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.table[t] for t in texts])


def _file_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def scale_section(n: int, runs: int = 7, dim: int = 384) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    x, qv = dataset(n, dim, 3 * runs)
    with tempfile.TemporaryDirectory(prefix="retrieval-scale-") as tmp:
        settings = Settings(home=Path(tmp))
        ring = wiring.create_keys(settings, "bench passphrase", kdf=FAST_KDF)
        store = wiring.open_store(settings, ring, dim)
        t0 = time.perf_counter()
        build(store, x)
        build_s = time.perf_counter() - t0
        dense_bytes = _file_bytes(settings.store_path)
        zipf = np.minimum(rng.zipf(1.15, size=(n, TOKENS)), VOCAB)
        t0 = time.perf_counter()
        for d in range(0, n, PER_DOC):  # bench.build names records r{i}, documents doc{i // 10}
            chunks = [
                [f"r{i}", TOKENS, {f"w{t}": c for t, c in Counter(zipf[i].tolist()).items()}]
                for i in range(d, min(n, d + PER_DOC))
            ]
            store.manifest_put(f"doc{d // PER_DOC}", {lexical.LEX_KEY: chunks})
        lex_write_s = time.perf_counter() - t0
        hybrid_bytes = _file_bytes(settings.store_path)
        t0 = time.perf_counter()
        lexicon = lexical.CachedLexicon()
        index = lexicon.get(store)
        load_s = time.perf_counter() - t0
        table, texts = {}, []
        for r in range(runs):
            row = []
            for j in range(3):
                words = " ".join(f"w{int(t)}" for t in np.minimum(rng.zipf(1.15, size=6), VOCAB))
                text = f"q{r}.{j} {words}"
                table[text] = qv[3 * r + j]
                row.append(text)
            texts.append(row)
        emb = TableEmbedder(table)
        retrieve(store, emb, texts[0], k=5)  # warm the scan's caches for both
        times: dict[str, list[float]] = {"dense": [], "hybrid": []}
        for row in texts:
            for name, kw in (("dense", {}), ("hybrid", {"lexicon": lexicon, "fusion": FusionParams()})):
                t0 = time.perf_counter()
                retrieve(store, emb, row, k=5, **kw)
                times[name].append(time.perf_counter() - t0)
        store.close()
    dense_ms = statistics.median(times["dense"]) * 1000
    hybrid_ms = statistics.median(times["hybrid"]) * 1000
    return {
        "records": n,
        "queries_per_search": 3,
        "runs": runs,
        "build_s": round(build_s, 1),
        "dense_ms": round(dense_ms, 1),
        "hybrid_ms": round(hybrid_ms, 1),
        "hybrid_over_dense": round(hybrid_ms / dense_ms, 2),
        "lexicon_load_s": round(load_s, 2),
        "lexicon_terms": index.vocabulary_size,
        "lexical_write_s": round(lex_write_s, 1),
        "bytes_per_record_dense": round(dense_bytes / n),
        "bytes_per_record_hybrid": round(hybrid_bytes / n),
    }
