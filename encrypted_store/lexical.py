"""Client-side lexical index: BM25 over per-chunk term statistics kept sealed in the store's manifest.

The term counts of a document's chunks travel inside that document's sealed manifest value (AES-GCM
under the keyring, like every manifest entry), so the store host holds only opaque blobs and a query
never reaches it: the client opens the manifest once, builds postings in memory and scores BM25 here.
Tokens are words, lower-cased, stop-words dropped, Snowball-stemmed (PyStemmer, bm25s's stop list).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

LEX_KEY = "lexical"  # key inside a manifest value: [[record id, chunk length, {term: count}], ...]
K1, B = 1.2, 0.75  # Lucene's BM25 defaults
_WORD = re.compile(r"[^\W_]+(?:[.'][^\W_]+)*")


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN) | {"i", "my", "me", "we", "you", "did", "do", "does", "what", "when"}


def tokenize(text: str) -> list[str]:
    """Stemmed word tokens (numbers kept, including "3.5" and "o'neil"); stop-words dropped."""
    stop = _stopwords()
    words = [w for w in _WORD.findall(text.lower()) if w not in stop]
    return list(_stemmer().stemWords(words))


def chunk_stats(record_id: str, text: str) -> list[Any]:
    """One chunk's entry in the manifest: [id, length in tokens, {term: count}]."""
    tokens = tokenize(text)
    return [record_id, len(tokens), dict(Counter(tokens))]


def doc_value(chunks: Iterable[tuple[str, str]]) -> list[list[Any]]:
    """The LEX_KEY value for one document from its (record id, text) chunks."""
    return [chunk_stats(rid, text) for rid, text in chunks]


@dataclass(frozen=True)
class LexHit:
    id: str
    doc: str  # the manifest key of the document (the indexer's doc key)
    score: float


class LexicalIndex:
    """BM25 postings over chunks, built in memory on the client from the opened manifest."""

    def __init__(self, docs: dict[str, list[list[Any]]]) -> None:
        ids: list[str] = []
        owners: list[str] = []
        lengths: list[int] = []
        rows: dict[str, list[tuple[int, int]]] = {}
        for doc, chunks in docs.items():
            for rid, length, counts in chunks:
                i = len(ids)
                ids.append(str(rid))
                owners.append(doc)
                lengths.append(int(length))
                for term, tf in counts.items():
                    rows.setdefault(term, []).append((i, int(tf)))
        self.ids, self.docs = ids, owners
        n = len(ids)
        dl = np.asarray(lengths, dtype=np.float32)
        avg = float(dl.mean()) if n else 1.0
        norm = K1 * (1 - B + B * dl / max(avg, 1e-9))
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, pairs in rows.items():
            idx = np.fromiter((p[0] for p in pairs), dtype=np.int32, count=len(pairs))
            tf = np.fromiter((p[1] for p in pairs), dtype=np.float32, count=len(pairs))
            idf = math.log(1 + (n - len(pairs) + 0.5) / (len(pairs) + 0.5))
            self._postings[term] = (idx, (idf * tf * (K1 + 1) / (tf + norm[idx])).astype(np.float32))

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def vocabulary_size(self) -> int:
        return len(self._postings)

    def scores(self, query: str) -> np.ndarray:
        """BM25 of every chunk for `query` (float32, one per chunk; 0 where no term matches)."""
        out = np.zeros(len(self.ids), dtype=np.float32)
        for term in set(tokenize(query)):
            hit = self._postings.get(term)
            if hit is not None:
                out[hit[0]] += hit[1]  # a chunk appears once per term's postings: no duplicates
        return out

    def search(self, queries: Sequence[str], k: int) -> list[list[LexHit]]:
        """Top-k chunks per query with a positive score, best first."""
        results = []
        for query in queries:
            s = self.scores(query)
            nz = int(np.count_nonzero(s))
            take = min(k, nz)
            if take == 0:
                results.append([])
                continue
            part = np.argpartition(-s, take - 1)[:take]
            order = part[np.argsort(-s[part], kind="stable")]
            results.append([LexHit(self.ids[i], self.docs[i], float(s[i])) for i in order])
        return results


def load(store: Any) -> LexicalIndex:
    """Open the store's sealed manifest and index the term statistics it carries."""
    docs = {}
    for key, value in store.manifest_get_all().items():
        chunks = value.get(LEX_KEY) if isinstance(value, dict) else None
        if chunks:
            docs[key] = chunks
    return LexicalIndex(docs)


class CachedLexicon:
    """A LexicalIndex kept between questions; rebuilt when the store's record count changes or on
    `invalidate()` (the indexer's callers invalidate after a run)."""

    def __init__(self) -> None:
        self._index: LexicalIndex | None = None
        self._count = -1

    def get(self, store: Any) -> LexicalIndex:
        count = int(store.count())
        if self._index is None or count != self._count:
            self._index, self._count = load(store), count
        return self._index

    def invalidate(self) -> None:
        self._index = None
