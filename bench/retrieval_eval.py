"""Retrieval quality and cost: dense (today), lexical, BM25 in the clear, and the shipped hybrid.

Recall@5 and MRR at the document level (the distinct files among the 5 sources a question gets) on
eval/corpus (records + questions with their plans' sub-queries) and on the generated conversation set
(eval/corpus/conversations: every session file indexed by the real indexer), per question kind; then
query time and bytes per record at --scale records (synthetic vectors and term counts).

    python bench/retrieval_eval.py --json                 # everything (embeddings cached in bench/out)
    python bench/retrieval_eval.py --tune                 # grid of fusion constants on the conversations
    python bench/retrieval_eval.py --scale 0              # quality only
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "eval"), str(ROOT / "bench")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from retrieval_scale import scale_section  # noqa: E402

from assistant.config import Settings  # noqa: E402
from assistant.pipeline.fusion import FusionParams, cap_per_doc, rank_fuse  # noqa: E402
from assistant.pipeline.retrieval import retrieve  # noqa: E402
from encrypted_store import lexical  # noqa: E402

FAST_KDF = {"time_cost": 1, "memory_kib": 8192, "parallelism": 1}
OUT = ROOT / "bench" / "out"
CONV = ROOT / "eval" / "corpus" / "conversations"
K = 5


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class CachedEmbedder:
    """The real MiniLM embedder behind a disk cache (bench/out/embed-cache.npz) keyed by text hash."""

    def __init__(self, inner: Any, path: Path) -> None:
        self.inner, self.path, self.name = inner, path, inner.name
        self.cache: dict[str, np.ndarray] = {}
        if path.exists():
            data = np.load(path)
            self.cache = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        self.dirty = False

    def embed(self, texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        todo = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in self.cache))
        if todo:
            for t, v in zip(todo, self.inner.embed(todo), strict=True):
                self.cache[hashlib.sha1(t.encode()).hexdigest()] = v
            self.dirty = True
        return np.stack([self.cache[k] for k in keys]).astype(np.float32)

    def save(self) -> None:
        if self.dirty:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            keys = np.array(list(self.cache))
            np.savez(self.path, keys=keys, vectors=np.stack(list(self.cache.values())))
            self.dirty = False


def new_store(tmp: Path) -> tuple[Any, Any]:
    from assistant import wiring

    settings = Settings(home=tmp)
    ring = wiring.create_keys(settings, "bench passphrase", kdf=FAST_KDF)
    return wiring.open_store(settings, ring), ring


def corpus_set(embedder: Any, tmp: Path) -> dict[str, Any]:
    """eval/corpus: records added as the eval's index_records does, plus their sealed term counts."""
    from index_corpus import index_records, load_questions, load_records

    store, _ring = new_store(tmp)
    records = load_records()
    index_records(store, embedder, records)
    for r in records:  # doc key = record id, as index_records uses
        store.manifest_put(r["id"], {lexical.LEX_KEY: lexical.doc_value([(r["id"], r["text"])])})
    questions = [
        {
            "id": q["id"],
            "kind": q.get("kind", "all"),
            "question": q["question"],
            "sub_queries": [" ".join(s.replace("{ph}", "").split()) for s in q["plan"]["sub_queries"]],
            "gold": q["gold_ids"],
        }
        for q in load_questions()
    ]
    files = {r["id"]: r["text"] for r in records}
    return {"store": store, "questions": questions, "files": files, "doc_of": lambda r: r.id}


def conversation_set(embedder: Any, tmp: Path) -> dict[str, Any]:
    """eval/corpus/conversations: each session file through the real indexer (chunks, manifest)."""
    from assistant.ingest.indexer import index_paths

    store, ring = new_store(tmp)
    t0 = time.perf_counter()
    summary = index_paths([str(CONV / "sessions")], store, embedder, ring)
    store.flush()
    questions = [json.loads(line) for line in (CONV / "questions.jsonl").open()]
    files = {p.stem: p.read_text() for p in sorted((CONV / "sessions").glob("*.txt"))}
    return {
        "store": store,
        "questions": questions,
        "files": files,
        "doc_of": lambda r: Path(str(r.meta.get("path", ""))).stem,
        "index_s": round(time.perf_counter() - t0, 1),
        "chunks": summary.chunks_added,
    }


def doc_scores(docs: list[str], gold: list[str]) -> tuple[float, float]:
    """(recall@K, reciprocal rank) over the distinct documents of the first K sources."""
    seen = list(dict.fromkeys(docs))
    recall = len(set(gold) & set(seen)) / len(gold)
    rr = next((1 / (i + 1) for i, d in enumerate(seen) if d in gold), 0.0)
    return recall, rr


def summarize(rows: list[tuple[str, float, float]]) -> dict[str, Any]:
    kinds = sorted({k for k, _r, _m in rows})
    out = {
        "all": {
            "n": len(rows),
            "recall_at_5": round(statistics.mean(r for _k, r, _m in rows), 3),
            "mrr": round(statistics.mean(m for _k, _r, m in rows), 3),
        }
    }
    for kind in kinds:
        sel = [(r, m) for k, r, m in rows if k == kind]
        out[kind] = {
            "n": len(sel),
            "recall_at_5": round(statistics.mean(r for r, _ in sel), 3),
            "mrr": round(statistics.mean(m for _, m in sel), 3),
        }
    return out


def bm25_clear(files: dict[str, str], questions: list[dict]) -> list[list[str]]:
    """The reference: plain bm25s over whole files, question text only, no encryption anywhere."""
    import bm25s
    import Stemmer

    stem = Stemmer.Stemmer("english")
    names = list(files)
    model = bm25s.BM25()
    model.index(
        bm25s.tokenize(list(files.values()), stopwords="en", stemmer=stem, show_progress=False),
        show_progress=False,
    )
    tokens = bm25s.tokenize(
        [q["question"] for q in questions], stopwords="en", stemmer=stem, show_progress=False
    )
    docs, _scores = model.retrieve(tokens, k=K, show_progress=False)
    return [[names[i] for i in row] for row in docs]


def evaluate(data: dict[str, Any], embedder: Any, params: FusionParams) -> dict[str, Any]:
    store, doc_of, qs = data["store"], data["doc_of"], data["questions"]
    index = lexical.load(store)
    methods: dict[str, list[tuple[str, float, float]]] = {m: [] for m in ("dense", "lexical", "hybrid")}
    lex_only = FusionParams(**{**params.__dict__, "dense_weight": 0.0})
    texts = list(dict.fromkeys(t for q in qs for t in [q["question"], *q["sub_queries"]]))
    for start in range(0, len(texts), 512):  # embed in large batches once; the loop below hits the cache
        embedder.embed(texts[start : start + 512])
        embedder.save()
        log(f"embedded {min(start + 512, len(texts))}/{len(texts)} query texts")
    for n, q in enumerate(qs):
        if n % 100 == 0:
            log(f"{n}/{len(qs)} questions")
        queries = [q["question"], *q["sub_queries"]]
        for name, kw in (
            ("dense", {}),
            ("lexical", {"lexicon": index, "fusion": lex_only}),
            ("hybrid", {"lexicon": index, "fusion": params}),
        ):
            got = retrieve(store, embedder, queries, k=K, **kw)
            methods[name].append((q["kind"], *doc_scores([doc_of(r) for r in got], q["gold"])))
    clear = bm25_clear(data["files"], qs)
    methods["bm25_clear"] = [(q["kind"], *doc_scores(d, q["gold"])) for q, d in zip(qs, clear, strict=True)]
    return {name: summarize(rows) for name, rows in methods.items()}


class HashedIndex(lexical.LexicalIndex):
    """Design (a)'s lexical side, in the clear: terms folded into `buckets` hashed dimensions (the
    collisions are what (a) adds; CKKS noise would come on top), BM25 over the buckets."""

    def __init__(self, docs: dict[str, list[list[Any]]], buckets: int) -> None:
        self.buckets = buckets
        folded = {}
        for doc, chunks in docs.items():
            rows = []
            for rid, length, counts in chunks:
                acc: dict[str, int] = {}
                for term, tf in counts.items():
                    acc[self.fold(term)] = acc.get(self.fold(term), 0) + tf
                rows.append([rid, length, acc])
            folded[doc] = rows
        super().__init__(folded)

    def fold(self, term: str) -> str:
        return str(
            int.from_bytes(hashlib.blake2b(term.encode(), digest_size=8).digest(), "little") % self.buckets
        )

    def _terms(self, query: str) -> set[int]:
        return {t for w in lexical.tokenize(query) if (t := self._vocab.get(self.fold(w))) is not None}


def buckets_section(data: dict[str, Any], embedder: Any) -> dict[str, Any]:
    """Recall@5 of design (a)'s lexical side alone against the number of hashed buckets."""
    store, qs = data["store"], data["questions"]
    entries = {k: v for k, v in store.manifest_get_all().items() if lexical.LEX_KEY in v}
    docs = {k: v[lexical.LEX_KEY] for k, v in entries.items()}
    name = {k: Path(str(v.get("path", k))).stem for k, v in entries.items()}  # doc key -> session id
    out = {}
    for buckets in (64, 190, 512, 4096, 0):
        index = HashedIndex(docs, buckets) if buckets else lexical.LexicalIndex(docs)
        rec = []
        for q in qs:
            got = index.search([q["question"]], K)[0]
            rec.append(doc_scores([name[h.doc] for h in got], q["gold"])[0])
        out[str(buckets or "unhashed")] = {
            "lexical_recall_at_5": round(statistics.mean(rec), 3),
            "scan_time_factor": round((384 + buckets) / 384, 2) if buckets else None,
        }
    return out


def tune(data: dict[str, Any], embedder: Any) -> list[dict[str, Any]]:
    """Grid over the fusion constants on the conversation set; rankings computed once, fused per cell."""
    store, doc_of, qs = data["store"], data["doc_of"], data["questions"]
    index = lexical.load(store)
    owner: dict[str, str] = {}
    cached = []
    for q in qs:
        queries = list(dict.fromkeys([q["question"], *q["sub_queries"]]))
        dense = store.search(embedder.embed(queries), 40)
        for hits in dense:
            for h in hits:
                owner[h.record.id] = doc_of(h.record)
        cached.append((queries, dense, index.search(queries, 80)))
    rows = []
    for rrf_k in (2, 5, 10, 30, 60):
        for lw in (1.0, 2.0, 3.0, 4.0, 6.0):
            for sw in (0.1, 0.25, 0.5):
                for per_doc in (1, 2):
                    for depth in (10, 20, 40):
                        p = FusionParams(rrf_k, 1.0, lw, 1.0, sw, depth, 2 * depth, per_doc)
                        scores = []
                        for q, (_queries, dense, lex) in zip(qs, cached, strict=True):
                            d = [h[:depth] for h in dense]
                            lx = [h[: 2 * depth] for h in lex]
                            chosen = cap_per_doc(rank_fuse(d, lx, p), K, per_doc)
                            docs = [owner.get(c.id) or _lex_doc(c.id, data) for c in chosen]
                            scores.append(doc_scores(docs, q["gold"])[0])
                        rows.append({**p.__dict__, "recall_at_5": round(statistics.mean(scores), 4)})
    return sorted(rows, key=lambda r: -r["recall_at_5"])


def _lex_doc(record_id: str, data: dict[str, Any]) -> str:
    """A chunk found only lexically: its document from the store (cached)."""
    memo = data.setdefault("_doc_memo", {})
    if record_id not in memo:
        recs = data["store"].get([record_id])
        memo[record_id] = data["doc_of"](recs[0]) if recs else ""
    return memo[record_id]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--tune", action="store_true", help="grid of fusion constants (conversation set)")
    ap.add_argument("--scale", type=int, default=100_000, help="records for the timing section; 0 = skip")
    ap.add_argument("--buckets", action="store_true", help="design (a): recall against hashed buckets")
    ap.add_argument("--out", type=Path, default=OUT / "retrieval.json")
    args = ap.parse_args()
    from assistant.embedding import Embedder

    embedder = CachedEmbedder(Embedder(), OUT / "embed-cache.npz")
    result: dict[str, Any] = {"k": K, "fusion": FusionParams().__dict__}
    with tempfile.TemporaryDirectory(prefix="retrieval-eval-") as tmp:
        conv = conversation_set(embedder, Path(tmp) / "conv")
        embedder.save()
        if args.tune:
            result["tuning"] = tune(conv, embedder)[:15]
        elif args.buckets:
            result["hashed_buckets"] = buckets_section(conv, embedder)
        else:
            result["conversations"] = {
                "sessions": len(conv["files"]),
                "chunks": conv["chunks"],
                "questions": len(conv["questions"]),
                "index_s": conv["index_s"],
                **evaluate(conv, embedder, FusionParams()),
            }
            corpus = corpus_set(embedder, Path(tmp) / "corpus")
            result["corpus"] = {
                "records": len(corpus["files"]),
                "questions": len(corpus["questions"]),
                **evaluate(corpus, embedder, FusionParams()),
            }
            corpus["store"].close()
            embedder.save()
        conv["store"].close()
    if args.scale and not (args.tune or args.buckets):
        result["scale"] = scale_section(args.scale)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2) if args.json else _short(result))


def _short(result: dict[str, Any]) -> str:
    lines = []
    for name in ("conversations", "corpus"):
        for method in ("dense", "lexical", "bm25_clear", "hybrid"):
            if name in result:
                a = result[name][method]["all"]
                lines.append(f"{name:14} {method:10} recall@5 {a['recall_at_5']:.3f}  MRR {a['mrr']:.3f}")
    if "hashed_buckets" in result:
        lines.append(json.dumps(result["hashed_buckets"]))
    for row in result.get("tuning", [])[:5]:
        lines.append(json.dumps(row))
    if "scale" in result:
        lines.append(json.dumps(result["scale"]))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
