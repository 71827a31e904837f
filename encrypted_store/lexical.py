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


def stem_words(words: list[str]) -> list[str]:
    """Snowball (English) stems of lower-cased words, as the index holds them."""
    return list(_stemmer().stemWords(words))


def tokenize(text: str) -> list[str]:
    """Stemmed word tokens (numbers kept, including "3.5" and "o'neil"); stop-words dropped."""
    return stem_words([w for w in _WORD.findall(text.lower()) if w not in STOPWORDS])


def chunk_stats(record_id: str, text: str) -> list[Any]:
    """One chunk's entry in the manifest: [id, length in tokens, {term: count}]."""
    tokens = tokenize(text)
    return [record_id, len(tokens), dict(Counter(tokens))]


def doc_value(chunks: Iterable[tuple[str, ...]]) -> list[list[Any]]:
    """The LEX_KEY value for one document from its (record id, text[, unit]) chunks.

    `unit` names the item a chunk belongs to in a file of independent items (an event of a calendar,
    a message of a mailbox): BM25 ranks such items on their own instead of the whole file.
    """
    out = []
    for rid, text, *unit in chunks:
        stats = chunk_stats(rid, text)
        if unit and unit[0]:
            stats.append(unit[0])
        out.append(stats)
    return out


@dataclass(frozen=True)
class LexHit:
    id: str
    doc: str  # the manifest key of the document (the indexer's doc key)
    score: float


def bm25_idf(n: int, df: Any) -> Any:
    """BM25's idf of terms found in `df` of `n` documents (numbers or arrays)."""
    return np.log1p((n - df + 0.5) / (df + 0.5))


class _Postings:
    """BM25 weights of (row, term) entries in one CSR-like layout: sorted by term, `starts[t]:starts[t+1]`."""

    def __init__(self, rows: np.ndarray, terms: np.ndarray, tf: np.ndarray, lengths: np.ndarray, v: int):
        order = np.argsort(terms, kind="stable")
        self.rows = rows[order].astype(np.int32)
        df = np.bincount(terms, minlength=v)
        self.starts = np.concatenate([[0], np.cumsum(df)])
        n = len(lengths)
        avg = float(lengths.mean()) if n else 1.0
        norm = K1 * (1 - B + B * lengths / max(avg, 1e-9))
        idf = bm25_idf(n, df)
        tf = tf[order]
        self.weights = (np.repeat(idf, df) * tf * (K1 + 1) / (tf + norm[self.rows])).astype(np.float32)
        self.n = n

    def scores(self, term_ids: set[int]) -> np.ndarray:
        out = np.zeros(self.n, dtype=np.float32)
        for t in term_ids:
            lo, hi = self.starts[t], self.starts[t + 1]
            out[self.rows[lo:hi]] += self.weights[lo:hi]  # a row appears once per term: no duplicates
        return out


class LexicalIndex:
    """BM25 over documents (all their chunks' counts), built on the client from the opened manifest.

    Documents are ranked as a whole, like BM25 over the files (a date or a name in one chunk still
    counts for the fact in the next); each ranked document is represented by its best-scoring chunk.
    A file of independent items (chunks carrying a unit name: events, messages) is ranked item by
    item, so one event is not drowned in a long calendar.
    """

    def __init__(self, docs: dict[str, list[list[Any]]]) -> None:
        ids: list[str] = []
        owners: list[str] = []
        lengths: list[int] = []
        vocab: dict[str, int] = {}
        term_ids: list[int] = []
        chunk_of: list[int] = []
        tfs: list[int] = []
        doc_starts = [0]
        for doc, chunks in docs.items():
            units: dict[str, list[list[Any]]] = {}  # the file's items (one unit for a plain document)
            for chunk in chunks:
                units.setdefault(str(chunk[3]) if len(chunk) > 3 else "", []).append(chunk)
            for unit_chunks in units.values():
                for rid, length, counts, *_unit in unit_chunks:
                    chunk_of.extend([len(ids)] * len(counts))
                    ids.append(str(rid))
                    owners.append(doc)
                    lengths.append(int(length))
                    term_ids.extend(vocab.setdefault(t, len(vocab)) for t in counts)
                    tfs.extend(counts.values())
                doc_starts.append(len(ids))
        self.ids, self.docs, self._vocab = ids, owners, vocab
        self._doc_starts = np.asarray(doc_starts, dtype=np.int64)
        terms = np.asarray(term_ids, dtype=np.int64)
        chunk = np.asarray(chunk_of, dtype=np.int64)
        tf = np.asarray(tfs, dtype=np.float32)
        chunk_len = np.asarray(lengths, dtype=np.float32)
        self._chunk = _Postings(chunk, terms, tf, chunk_len, len(vocab))
        # the same counts summed per (document or item, term)
        n_docs = len(doc_starts) - 1
        doc_of_chunk = np.repeat(np.arange(n_docs), np.diff(self._doc_starts))
        key = doc_of_chunk[chunk] * max(len(vocab), 1) + terms
        uniq, inverse = np.unique(key, return_inverse=True)
        doc_tf = np.bincount(inverse, weights=tf).astype(np.float32)
        doc_len = np.bincount(doc_of_chunk, weights=chunk_len, minlength=n_docs).astype(np.float32)
        v = max(len(vocab), 1)
        self._doc = _Postings(uniq // v, uniq % v, doc_tf, doc_len, len(vocab))

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def vocabulary_size(self) -> int:
        return len(self._vocab)

    def idf(self, terms: Iterable[str]) -> dict[str, float]:
        """BM25's idf of tokens (as `tokenize` makes them) over the indexed documents and items; a
        token the index never saw gets the highest."""
        post = self._doc
        out = {}
        for term in terms:
            t = self._vocab.get(term)
            df = 0 if t is None else int(post.starts[t + 1] - post.starts[t])
            out[term] = float(bm25_idf(post.n, df))
        return out

    def _terms(self, query: str) -> set[int]:
        return {t for w in tokenize(query) if (t := self._vocab.get(w)) is not None}

    def scores(self, query: str) -> np.ndarray:
        """BM25 of every chunk on its own for `query` (float32; 0 where no term matches)."""
        return self._chunk.scores(self._terms(query))

    def search(self, queries: Sequence[str], k: int) -> list[list[LexHit]]:
        """Per query, the k best documents with a positive BM25, best first, each as its best chunk."""
        results = []
        for query in queries:
            terms = self._terms(query)
            doc_scores = self._doc.scores(terms)
            take = min(k, int(np.count_nonzero(doc_scores)))
            if take == 0:
                results.append([])
                continue
            part = np.argpartition(-doc_scores, take - 1)[:take]
            order = part[np.argsort(-doc_scores[part], kind="stable")]
            chunk_scores = self._chunk.scores(terms)
            hits = []
            for d in order:
                lo, hi = self._doc_starts[d], self._doc_starts[d + 1]
                best = lo + int(np.argmax(chunk_scores[lo:hi]))
                hits.append(LexHit(self.ids[best], self.docs[best], float(doc_scores[d])))
            results.append(hits)
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

    @property
    def last(self) -> LexicalIndex | None:
        """The index the last `get` returned, without asking the store again (None before one)."""
        return self._index

    def invalidate(self) -> None:
        self._index = None
