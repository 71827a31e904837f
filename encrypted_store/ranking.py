"""Client-side ranking: top-k over decrypted scores, candidate fetch, filters, exact re-rank.

The decrypted CKKS scores pick candidates (a few times k); each candidate's sealed row holds its
vector, so the final order uses the exact cosine, and filters (source, date) apply to the opened
metadata. The host sees which rows are fetched (a fixed number, decoys included, in random order),
never the scores, the order of the candidates or the filters.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import numpy as np

from encrypted_store.api import Hit, Record, RecordIn, SearchFilter
from encrypted_store.errors import InputError

if TYPE_CHECKING:
    from encrypted_store.store import EncryptedStore
    from encrypted_store.verify import ClientState


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
    state: ClientState,
    pending: list[RecordIn],
    k: int,
    flt: SearchFilter,
    window: int = 4,
) -> list[list[Hit]]:
    """Per query row: the k best records among its candidates that open cleanly and pass the filters.

    One fetch per search, of a fixed size: each query's `window * k + 4 * window` best positions,
    padded with random live decoys to (queries x that) rows, in random order. Nothing the host
    returns widens it: a query whose candidates fail to open or to pass the filters gets fewer hits.
    """
    per_query = min(len(positions), window * k + 4 * window)
    chosen = [positions[_best(row, per_query)] for row in scores] if per_query else []
    wanted = {int(p) for c in chosen for p in c}
    total = min(len(positions), per_query * len(q))
    rng = np.random.default_rng(secrets.randbits(128))
    while len(wanted) < total:  # decoys: the fetch size does not tell how much the queries overlap
        for p in positions[rng.integers(0, len(positions), size=2 * (total - len(wanted)))]:
            if len(wanted) < total:
                wanted.add(int(p))
    order = rng.permutation(np.fromiter(wanted, dtype=np.int64, count=len(wanted))).tolist()
    rows = {r.pos: r for r in store.host.fetch(positions=order) if r.pos in wanted} if order else {}
    opened: dict[int, RecordIn | None] = {}
    needed = {int(p) for c in chosen for p in c}
    for pos in needed:
        row = rows.get(pos)
        if row is None:
            store._warnings.append(f"the store host did not return the record at slot {pos}")
            opened[pos] = None
        else:
            opened[pos] = store._open(row, state.version_at(pos))
    results = []
    for qi in range(len(q)):
        best: dict[str, tuple[float, RecordIn]] = {}
        for rec in pending:
            if passes(rec.meta, flt):
                best[rec.id] = (_exact(q[qi], rec.vector), rec)
        for pos in chosen[qi] if chosen else []:
            rec = opened.get(int(pos))
            if rec is not None and passes(rec.meta, flt):
                best.setdefault(rec.id, (_exact(q[qi], rec.vector), rec))
        ranked = sorted(best.values(), key=lambda item: -item[0])[:k]
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
