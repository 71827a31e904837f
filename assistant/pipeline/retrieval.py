"""Retrieval: the question and the plan's sub-queries, embedded on the device, searched in one batch.

Placeholders are already mapped back by the caller: the store sees plaintext-query vectors (or
ciphertexts in encrypted-query mode), never the sanitized text and never a record in clear.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from assistant.ingest.citation import locate
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
                best[rec.id] = Retrieved(rec.id, rec.text, dict(rec.meta), hit.score, (qi,))
            else:
                score = max(old.score, hit.score)
                best[rec.id] = Retrieved(rec.id, rec.text, old.meta, score, (*old.queries, qi))
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
) -> list[Retrieved]:
    """Top-k records for all `queries` (question first), in one batched store search."""
    queries = [q for q in dict.fromkeys(q.strip() for q in queries) if q]
    if not queries or store.count() == 0:
        return []
    vectors = embed(embedder, queries)
    hit_lists = store.search(vectors, per_query or k, encrypted_query=encrypted_query)
    return merge(hit_lists, k)
