"""Load the evaluation corpus and index it into a real encrypted store (used by tests and the bench)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent / "corpus"


def load_records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in (CORPUS / "records.jsonl").open()]


def load_questions() -> list[dict[str, Any]]:
    return [json.loads(line) for line in (CORPUS / "questions.jsonl").open()]


def index_records(store: Any, embedder: Any, records: Iterable[dict[str, Any]]) -> int:
    """Embed and add records with their corpus ids (so gold ids match), then encrypt the blocks."""
    from encrypted_store.api import RecordIn

    records = list(records)
    vectors = embedder.embed([r["text"] for r in records])
    store.add(
        [
            RecordIn(
                r["id"],
                r["text"],
                v,
                doc=r["id"],
                meta={"path": r["path"], "date": r["date"], "source": r["kind"]},
            )
            for r, v in zip(records, vectors, strict=True)
        ]
    )
    if hasattr(store, "flush"):
        store.flush()
    return len(records)
