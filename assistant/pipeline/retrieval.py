"""Retrieval: the question and the plan's sub-queries, searched densely and lexically, then fused.

Placeholders are already mapped back by the caller: the store sees plaintext-query vectors (or
ciphertexts in encrypted-query mode), never the sanitized text and never a record in clear. The
lexical side (BM25, `encrypted_store.lexical`) runs on the device over sealed term statistics, so no
query term reaches the store host. Rankings are combined by weighted reciprocal-rank fusion, with at
most `per_doc` chunks of one document in the final k (see docs/PIPELINE.md, Retrieval).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from assistant.ingest.citation import locate
from assistant.pipeline.fusion import FusionParams, cap_per_doc, rank_fuse
from assistant.pipeline.types import Source

SNIPPET_CHARS = 240


class Embedder(Protocol):
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 (n, dim) unit rows."""
        ...


def embed(embedder: Any, texts: Sequence[str]) -> np.ndarray:
    """Rows for `texts` from either `embed()` or a sentence-transformers style `encode()`."""
    if hasattr(embedder, "embed"):
        vectors = embedder.embed(list(texts))
    else:
        vectors = embedder.encode(list(texts), normalize_embeddings=True)
    return np.ascontiguousarray(vectors, dtype=np.float32)


@dataclass(frozen=True)
class Retrieved:
    """A merged hit: the record, its best score, and which queries found it."""

    id: str
    text: str
    meta: dict[str, Any]
    score: float
    queries: tuple[int, ...]
    doc: str = ""  # the store's document key: chunks with the same key come from one file

    def source(self) -> Source:
        path = str(self.meta.get("path", ""))
        snippet = " ".join(self.text.split())[:SNIPPET_CHARS]
        page = self.meta.get("page")
        where, ocr = locate(self.meta), bool(self.meta.get("ocr"))
        return Source(self.id, path, snippet, round(float(self.score), 4), page=page, where=where, ocr=ocr)


def merge(hit_lists: Sequence[Sequence[Any]], k: int) -> list[Retrieved]:
    """De-duplicate by record id across queries; rank by best score, then by how many queries found it."""
    best: dict[str, Retrieved] = {}
    for qi, hits in enumerate(hit_lists):
        for hit in hits:
            rec = hit.record
            old = best.get(rec.id)
            if old is None:
                best[rec.id] = Retrieved(rec.id, rec.text, dict(rec.meta), hit.score, (qi,), rec.doc)
            else:
                score = max(old.score, hit.score)
                best[rec.id] = Retrieved(rec.id, rec.text, old.meta, score, (*old.queries, qi), rec.doc)
    ranked = sorted(best.values(), key=lambda r: (r.score, len(r.queries)), reverse=True)
    return ranked[:k]


def retrieve(
    store: Any,
    embedder: Any,
    queries: Sequence[str],
    *,
    k: int = 5,
    per_query: int | None = None,
    encrypted_query: bool | None = None,
    lexicon: Any = None,
    fusion: FusionParams | None = None,
) -> list[Retrieved]:
    """Top-k records for all `queries` (question first).

    With `lexicon` (an `encrypted_store.lexical.LexicalIndex`, or a `CachedLexicon`), dense and BM25
    rankings of every query are fused (hybrid); without it, the dense search alone, merged by best
    score as before. Either way one batched store search carries all dense queries.
    """
    queries = [q for q in dict.fromkeys(q.strip() for q in queries) if q]
    if not queries or store.count() == 0:
        return []
    vectors = embed(embedder, queries)
    if lexicon is None:
        hit_lists = store.search(vectors, per_query or k, encrypted_query=encrypted_query)
        return merge(hit_lists, k)
    params = fusion or FusionParams()
    index = lexicon.get(store) if hasattr(lexicon, "get") else lexicon
    depth = max(per_query or k, params.dense_depth)
    dense = store.search(vectors, depth, encrypted_query=encrypted_query) if params.dense_weight else []
    lexical = index.search(queries, params.lexical_depth) if params.lexical_weight else []
    return _hybrid(store, len(queries), dense, lexical, k, params)


def _hybrid(
    store: Any, n_queries: int, dense: Any, lexical: Any, k: int, params: FusionParams
) -> list[Retrieved]:
    """Fuse, cap per document, and fetch the records only the lexical side found.

    The fetch is padded to k ids and shuffled, so its size and order do not tell the host how the two
    rankings overlapped; a record that fails to open is passed over.
    """
    known = {h.record.id: h.record for hits in dense for h in hits}
    ranked = rank_fuse(dense, lexical, params)
    gone: set[str] = set()
    for round_ in range(4):
        chosen = cap_per_doc([c for c in ranked if c.id not in gone], k, params.per_doc)
        missing = [c.id for c in chosen if c.id not in known]
        if not missing and round_:
            break
        # always one fetch of k ids (lexical-only first, then spare ones, then already-known ones):
        # whether and how much the lexical side added stays hidden from the host
        spare = [c.id for c in ranked if c.id not in known and c.id not in gone and c.id not in missing]
        ask = list(dict.fromkeys(missing + spare + list(known)))[: max(k, len(missing))]
        secrets.SystemRandom().shuffle(ask)
        got = {r.id: r for r in store.get(ask)}
        known.update(got)
        gone.update(rid for rid in ask if rid not in got)
    top = params.best_possible(n_queries)
    out = []
    for c in chosen:
        rec = known.get(c.id)
        if rec is not None:
            out.append(Retrieved(rec.id, rec.text, dict(rec.meta), c.score / top, c.queries, rec.doc))
    return out
