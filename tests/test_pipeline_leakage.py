"""Leakage is zero over the whole question set: every body the recording server receives is checked for
every planted private value of the synthetic person (full values and each part of every name)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.pipeline.events import PlanReady
from assistant.pipeline.session import AssistantSession
from encrypted_store.keys import Keyring
from tests.remote_standin import RemoteStandin

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "eval"))
from index_corpus import load_questions  # noqa: E402
from people import PLANTED  # noqa: E402


def planted_patterns() -> list[re.Pattern[str]]:
    values = set(PLANTED)
    for v in PLANTED:
        if re.fullmatch(r"[A-Za-z .'-]+", v):  # a name: each part counts on its own
            values.update(part for part in v.split() if len(part) > 3)
    return [re.compile(rf"(?i)(?<![\w]){re.escape(v)}(?![\w])") for v in values]


def leaks(body: str, patterns: list[re.Pattern[str]]) -> list[str]:
    import json

    texts = [body] + [m["content"] for m in json.loads(body)["messages"]]
    return sorted({p.pattern for p in patterns for t in texts if p.search(t)})


@pytest.mark.slow
def test_no_planted_value_reaches_the_remote(tmp_path: Path) -> None:
    questions = load_questions()
    assert len(questions) >= 100
    patterns = planted_patterns()
    ring = Keyring(master_key=os.urandom(32), ckks_secret=b"", ckks_params={})
    with RemoteStandin() as remote:
        settings = Settings(home=tmp_path, remote_url=remote.url)
        # conversations of 8 questions: earlier sanitized questions ride along in later requests
        for start in range(0, len(questions), 8):
            s = AssistantSession(settings, keyring=ring, local_planning=False)
            for q in questions[start : start + 8]:
                events = list(s.plan(q["question"]))
                assert isinstance(events[-1], PlanReady) and events[-1].plan.remote, q["id"]
        assert len(remote.requests) == len(questions)
        found = {r.user_text(): leaks(r.body.decode(), patterns) for r in remote.requests}
    assert {text: hit for text, hit in found.items() if hit} == {}
    # the check itself can fail: most raw questions are full of planted values
    raw = sum(any(p.search(q["question"]) for p in patterns) for q in questions)
    assert raw >= 0.6 * len(questions)
