"""bench/notes_eval.py: scoring helpers, summaries of saved runs, and one real case end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import notes_eval  # noqa: E402


def test_reference_statements_skip_headings() -> None:
    note = "CHIEF COMPLAINT\n\nKnee pain.\n\nPLAN\n\n• Ice. Rest for 2 days.\n"
    assert notes_eval.reference_statements(note) == ["Knee pain.", "Ice.", "Rest for 2 days."]


def test_summary_of_saved_runs(tmp_path: Path) -> None:
    base = {"rouge2": 0.1, "rougeL": 0.2, "rougeLsum": 0.3, "empty_rouge1": 0.05, "lead_rouge1": 0.3}
    base |= {"model": "m", "statements": 10, "reference_statements": 20, "trimmed": 0}
    rows = [
        {**base, "rouge1": 0.2, "valid": True, "flags": 1, "seconds": 4.0, "reference_flags": 2},
        {**base, "rouge1": 0.4, "valid": False, "flags": 0, "seconds": 8.0, "reference_flags": 0},
    ]
    rows[0] |= {"chunks": 1, "calls": 7, "repaired": 0}
    rows[1] |= {"chunks": 2, "calls": 14, "repaired": 7}
    saved = tmp_path / "rows.jsonl"
    saved.write_text("".join(json.dumps(r) + "\n" for r in rows))
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "notes_eval.py"), "--from-saved", str(saved)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["cases"] == 2 and summary["model"] == "m"
    assert summary["rouge1"] == pytest.approx(0.3)
    assert summary["structure_valid_rate"] == 0.5
    assert summary["grounding_flag_rate"] == 0.05
    assert summary["notes_with_flags_rate"] == 0.5
    assert summary["reference_flag_rate"] == 0.05
    assert summary["seconds_per_note_median"] == 6.0
    assert summary["multi_chunk_notes"] == 1
    assert summary["repaired_reply_rate"] == pytest.approx(7 / 21, abs=1e-4)


@pytest.mark.slow
def test_one_aci_case_with_the_bundled_model(tmp_path: Path) -> None:
    saved = tmp_path / "cases.jsonl"
    args = [
        "--data",
        str(ROOT / "tests" / "fixtures" / "aci"),
        "--limit",
        "1",
        "--json",
        "--save",
        str(saved),
    ]
    args += ["--max-items", "1", "--max-chars", "32"]
    env = {**os.environ, "ASSISTANT_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "notes_eval.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["cases"] == 1 and summary["model"] == "smollm2-135m-instruct"
    assert summary["structure_valid_rate"] == 1.0
    assert summary["trimmed_prompts"] == 0
    assert 0.0 < summary["rouge1"] < 1.0
    assert summary["floor_empty_note_rouge1"] < summary["floor_lead_note_rouge1"]
    row = json.loads(saved.read_text().splitlines()[0])
    assert row["file"] == "D2N092-virtassist" and row["calls"] == 0  # demo model: written from facts
    assert row["statements_with_evidence"] == row["statements"]
    assert summary["fact_recall"] is not None and 0.0 <= summary["fact_recall"] <= 1.0
    assert set(summary["fact_recall_by_category"]) == {
        "medications",
        "doses",
        "vitals",
        "allergies",
        "diagnoses",
        "follow_up",
    }
