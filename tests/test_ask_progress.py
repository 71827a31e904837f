"""`assistant ask`: stage progress on stderr (stdout stays JSON) and evidence sentences per source.

Real encrypted store, real MiniLM, real llama.cpp with the bundled model, in a subprocess as a user runs it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from assistant import wiring
from assistant.config import Settings
from assistant.pipeline.passages import split_sentences
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "eval"))
from index_corpus import index_records  # noqa: E402

FAST_KDF = {"time_cost": 1, "memory_kib": 8192, "parallelism": 1}
RECORDS = [
    {
        "id": "boat",
        "kind": "note",
        "path": "notes/boat.md",
        "date": "2025-05-02",
        "text": "Sailing club notes. The dinghy Marigold is moored at berth 14. Winter storage costs 210 "
        "euros. The club bar closes at nine.",
    },
    {
        "id": "bike",
        "kind": "note",
        "path": "notes/bike.md",
        "date": "2025-04-11",
        "text": "Bike service booked at Cogworks for 9 May. The rear tyre needs replacing.",
    },
    {
        "id": "rent",
        "kind": "email",
        "path": "mail/rent.eml",
        "date": "2025-03-01",
        "text": "Subject: rent. The rent rises to 1,180 a month from June. Pay by standing order.",
    },
]


@pytest.mark.slow
def test_ask_shows_stages_on_stderr_and_evidence_in_json(tmp_path: Path) -> None:

    home = tmp_path / "ask-home"
    settings = Settings(home=home)
    ring = wiring.create_keys(settings, "ask pass", kdf=FAST_KDF)
    store = wiring.open_store(settings, ring)
    index_records(store, wiring.embedder(settings), RECORDS)
    store.close()
    env = {"ASSISTANT_HOME": str(home), "ASSISTANT_PASSPHRASE": "ask pass"}
    question = "Which berth is the dinghy Marigold moored at?"
    done = run_cli("ask", question, "--json", "--no-remote", "--max-tokens", "16", env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)  # stdout is one JSON object: no progress lines in it
    assert "searching…" in done.stderr and "reading 3 records…" in done.stderr
    assert "planning…" not in done.stderr  # ASSISTANT_LOCAL_PLAN=auto skips the local plan
    texts = {r["path"]: r["text"] for r in RECORDS}
    sources = out["sources"]
    assert sources[0]["path"] == "notes/boat.md"
    assert all(isinstance(s["evidence"], list) for s in sources)
    chosen = [(s["path"], e) for s in sources for e in s["evidence"]]
    assert chosen, "some source carries evidence"
    assert all(e in split_sentences(texts[path]) for path, e in chosen)  # sentences of that record
