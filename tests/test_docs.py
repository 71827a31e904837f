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


def test_benchmarks_md_leaves_out_superseded_runs() -> None:
    collect = runpy.run_path(str(ROOT / "bench" / "collect_docs.py"))
    marked = [
        line.split(collect["SUPERSEDED"])[0].lstrip("#").strip()
        for path in (ROOT / "docs" / "bench").glob("*.md")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith("#") and line.rstrip().endswith(collect["SUPERSEDED"])
    ]
    assert len(marked) >= 4  # the first-run tables of the store, index, pipeline and vLLM write-ups
    current = (ROOT / "docs" / "BENCHMARKS.md").read_text(encoding="utf-8")
    assert [h for h in marked if h in current] == []
    assert "\n---\n\n---" not in current  # no stray separators


def test_the_collector_drops_a_marked_section_and_keeps_its_neighbours() -> None:
    """Control: `current` removes exactly the marked section, down to the next heading at its level."""
    collect = runpy.run_path(str(ROOT / "bench" / "collect_docs.py"))
    text = (
        "# T\n\n## Quiet\nnew 1.0\n\n## First <!-- superseded -->\nold 9.9\n### detail\nold 8.8\n"
        "```\n# not a heading\n```\n\n## Notes\nkept\n"
    )
    out = collect["current"](text)
    assert "new 1.0" in out and "kept" in out and "## Notes" in out
    assert "old 9.9" not in out and "old 8.8" not in out and "First" not in out
    assert collect["current"]("# T\n## A\nx\n") == "# T\n## A\nx\n"
