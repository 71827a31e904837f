"""Client-side ranking: top-k over decrypted scores, candidate fetch, filters, exact re-rank.

The decrypted CKKS scores pick candidates (a few times k); each candidate's sealed row holds its
vector, so the final order uses the exact cosine, and filters (source, date) apply to the opened
metadata. The server sees which rows are fetched, never the scores or the filters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from encrypted_store.api import Hit, Record, RecordIn, SearchFilter
from encrypted_store.backend import Row
from encrypted_store.errors import InputError

if TYPE_CHECKING:
    from encrypted_store.store import EncryptedStore


def check_queries(queries: np.ndarray, dim: int) -> np.ndarray:
    """Validate and normalize: (dim,) or (q, dim) finite non-zero rows -> (q, dim) float32 unit rows."""
    q = np.asarray(queries, dtype=np.float64)
    if q.ndim == 1:
        q = q[None, :]
    if q.ndim != 2 or q.shape[1] != dim:
        raise InputError(
            f"Dimension mismatch: queries have shape {np.shape(queries)}, the store holds {dim}-dim vectors.",
            "Embed queries with the model the store was built with.",
        )
    if q.shape[0] == 0:
        raise InputError("No query vectors given.", "Pass at least one query row.")
    norms = np.linalg.norm(q, axis=1)
    if not np.all(np.isfinite(q)) or np.any(norms == 0):
        raise InputError("A query vector is zero or not finite.", "Check the embedder's output.")
    return (q / norms[:, None]).astype(np.float32)


def passes(meta: dict[str, Any], flt: SearchFilter) -> bool:
    if flt.sources and meta.get("source") not in flt.sources:
        return False
    date = meta.get("date")
    if not date:
        return True
    day = str(date)[:10]
    if flt.date_from and day < flt.date_from[:10]:
        return False
    return not (flt.date_to and day > flt.date_to[:10])


def top_k(
    store: EncryptedStore,
    q: np.ndarray,
    scores: np.ndarray,
    positions: np.ndarray,
    pending: list[tuple[Row, RecordIn]],
    k: int,
    flt: SearchFilter,
    window: int = 4,
) -> list[list[Hit]]:
    """Per query row: the k best records that open cleanly and pass the filters."""
    if k <= 0:
        raise InputError("k must be positive.", "Ask for at least one result.")
    opened: dict[int, RecordIn | None] = {}
    results = []
    for qi in range(len(q)):
        row_scores = scores[qi]
        want = min(len(row_scores), window * k + 4 * window)
        chosen: dict[str, tuple[float, RecordIn]] = {}
        for _r, rec in pending:
            if passes(rec.meta, flt):
                chosen[rec.id] = (_exact(q[qi], rec.vector), rec)
        while True:
            order = _best(row_scores, want)
            missing = [int(p) for p in positions[order] if int(p) not in opened]
            if missing:
                rows = {r.pos: r for r in store.backend.fetch(positions=missing)}
                for pos in missing:
                    row = rows.get(pos)
                    opened[pos] = store._open(row) if row is not None else None
            good = 0
            for pos in positions[order]:
                rec = opened.get(int(pos))
                if rec is not None and passes(rec.meta, flt):
                    chosen.setdefault(rec.id, (_exact(q[qi], rec.vector), rec))
                    good += 1
            if good >= k or want >= len(row_scores):
                break
            want = min(len(row_scores), want * 4)
        ranked = sorted(chosen.values(), key=lambda item: -item[0])[:k]
        results.append([Hit(Record(r.id, r.text, r.doc, r.meta), s, qi) for s, r in ranked])
    return results


def _best(row: np.ndarray, want: int) -> np.ndarray:
    """Indices of the `want` highest scores, best first."""
    if want >= len(row):
        return np.argsort(-row, kind="stable")
    part = np.argpartition(-row, want - 1)[:want]
    return part[np.argsort(-row[part], kind="stable")]


def _exact(q: np.ndarray, vector: np.ndarray) -> float:
    return float(np.dot(q.astype(np.float64), vector.astype(np.float64)))
