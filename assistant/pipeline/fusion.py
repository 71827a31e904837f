"""Rank fusion for hybrid retrieval: weighted reciprocal-rank fusion and a per-document cap.

Each query (the question, then each sub-query) gives two rankings, dense and lexical; a chunk earns
`query_weight * source_weight / (rrf_k + rank)` from every list it appears in. The constants are
tuned on the generated conversation set (bench/retrieval_eval.py --tune), never on a held-out set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FusionParams:
    # defaults: the best recall@5 of the grid in bench/retrieval_eval.py --tune on the conversation set
    rrf_k: float = 5.0  # RRF's damping constant (small: the first ranks count much more than later ones)
    dense_weight: float = 1.0
    lexical_weight: float = 4.0  # names, places and numbers decide personal questions: BM25 leads
    question_weight: float = 1.0  # the user's own question
    subquery_weight: float = 0.1  # each of the plan's sub-queries: they break ties and rescue misses
    dense_depth: int = 20  # candidates taken from each dense ranking
    lexical_depth: int = 40  # documents taken from each lexical ranking
    per_doc: int = 2  # at most this many chunks of one document in the final k

    def query_weight(self, qi: int) -> float:
        return self.question_weight if qi == 0 else self.subquery_weight

    def best_possible(self, n_queries: int) -> float:
        """The fused score of a chunk ranked first in every list (scores are divided by it)."""
        per_list = (self.dense_weight + self.lexical_weight) / (self.rrf_k + 1)
        return per_list * sum(self.query_weight(i) for i in range(n_queries))


@dataclass
class Candidate:
    id: str
    doc: str
    score: float = 0.0
    queries: tuple[int, ...] = ()


def rank_fuse(
    dense: Sequence[Sequence[Any]],
    lexical: Sequence[Sequence[Any]],
    params: FusionParams,
) -> list[Candidate]:
    """All candidates, best fused score first. `dense[qi]` holds store Hits (`.record.id/.doc`),
    `lexical[qi]` holds LexHits (`.id/.doc`), each list best first."""
    found: dict[str, Candidate] = {}

    def add(qi: int, rank: int, rid: str, doc: str, weight: float) -> None:
        cand = found.setdefault(rid, Candidate(rid, doc))
        cand.score += params.query_weight(qi) * weight / (params.rrf_k + rank + 1)
        if qi not in cand.queries:
            cand.queries = (*cand.queries, qi)

    for qi, hits in enumerate(dense):
        for rank, hit in enumerate(hits):
            add(qi, rank, hit.record.id, hit.record.doc, params.dense_weight)
    for qi, lex in enumerate(lexical):
        for rank, hit in enumerate(lex):
            add(qi, rank, hit.id, hit.doc, params.lexical_weight)
    return sorted(found.values(), key=lambda c: (-c.score, -len(c.queries), c.id))


def cap_per_doc(candidates: Sequence[Candidate], k: int, per_doc: int) -> list[Candidate]:
    """The first k candidates in order, skipping any beyond `per_doc` chunks of one document."""
    if per_doc < 1:
        raise ValueError("per_doc must be at least 1")
    taken: dict[str, int] = {}
    out = []
    for cand in candidates:
        if len(out) == k:
            break
        if taken.get(cand.doc, 0) >= per_doc:
            continue
        taken[cand.doc] = taken.get(cand.doc, 0) + 1
        out.append(cand)
    return out
