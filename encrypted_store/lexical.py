"""Client-side lexical index: BM25 over per-chunk term statistics kept sealed in the store's manifest.

The term counts of a document's chunks travel inside that document's sealed manifest value (AES-GCM
under the keyring, like every manifest entry), so the store host holds only opaque blobs and a query
never reaches it: the client opens the manifest once, builds postings in memory and scores BM25 here.
Tokens are words, lower-cased, stop-words dropped, Snowball-stemmed (PyStemmer).
"""

from __future__ import annotations

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


# Lucene's English stop set (the list bm25s uses), plus pronouns and question words
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
        "i",
        "my",
        "me",
        "we",
        "you",
        "did",
        "do",
        "does",
        "what",
        "when",
    ]
)


def tokenize(text: str) -> list[str]:
    """Stemmed word tokens (numbers kept, including "3.5" and "o'neil"); stop-words dropped."""
    words = [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]
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
        vocab: dict[str, int] = {}
        term_ids: list[int] = []
        chunk_of: list[int] = []
        tfs: list[int] = []
        for doc, chunks in docs.items():
            for rid, length, counts in chunks:
                chunk_of.extend([len(ids)] * len(counts))
                ids.append(str(rid))
                owners.append(doc)
                lengths.append(int(length))
                term_ids.extend(vocab.setdefault(t, len(vocab)) for t in counts)
                tfs.extend(counts.values())
        self.ids, self.docs, self._vocab = ids, owners, vocab
        # postings as one CSR-like layout: entries sorted by term, `_starts[t]:_starts[t + 1]` per term
        terms = np.asarray(term_ids, dtype=np.int64)
        order = np.argsort(terms, kind="stable")
        self._chunks = np.asarray(chunk_of, dtype=np.int32)[order]
        df = np.bincount(terms, minlength=len(vocab))
        self._starts = np.concatenate([[0], np.cumsum(df)])
        n = len(ids)
        dl = np.asarray(lengths, dtype=np.float32)
        norm = K1 * (1 - B + B * dl / max(float(dl.mean()) if n else 1.0, 1e-9))
        idf = np.log1p((n - df + 0.5) / (df + 0.5))
        tf = np.asarray(tfs, dtype=np.float32)[order]
        self._weights = (np.repeat(idf, df) * tf * (K1 + 1) / (tf + norm[self._chunks])).astype(np.float32)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def vocabulary_size(self) -> int:
        return len(self._vocab)

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(chunk indices, BM25 weights) of one stemmed term, or None."""
        t = self._vocab.get(term)
        if t is None:
            return None
        lo, hi = self._starts[t], self._starts[t + 1]
        return self._chunks[lo:hi], self._weights[lo:hi]

    def scores(self, query: str) -> np.ndarray:
        """BM25 of every chunk for `query` (float32, one per chunk; 0 where no term matches)."""
        out = np.zeros(len(self.ids), dtype=np.float32)
        for term in set(tokenize(query)):
            hit = self.postings(term)
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
