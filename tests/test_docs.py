"""The documentation that is assembled from parts stays in step with its parts."""

from __future__ import annotations

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmarks_md_holds_every_bench_write_up() -> None:
    collect = runpy.run_path(str(ROOT / "bench" / "collect_docs.py"))
    current = (ROOT / "docs" / "BENCHMARKS.md").read_text(encoding="utf-8")
    assert current == collect["build"](), "run `python bench/collect_docs.py` after editing docs/bench/*.md"
    written = {p.stem for p in (ROOT / "docs" / "bench").glob("*.md")}
    assert written == set(collect["ORDER"]), "add the new write-up to ORDER in bench/collect_docs.py"
