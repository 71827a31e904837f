"""Rebuild docs/BENCHMARKS.md from its summary head and the per-area write-ups in docs/bench/.

Usage: python bench/collect_docs.py
The head (everything before the first "## ") is kept; each docs/bench/*.md follows with its headings
one level down and its relative links pointing into bench/. A heading that ends with
`<!-- superseded -->` (a first run, redone later) is left out with everything under it: BENCHMARKS.md
holds the current figures, the write-ups in docs/bench/ keep the history.
"""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"
ORDER = [  # the rest of docs/bench/*.md follows in name order
    "local_model",
    "encrypted_store",
    "encrypted_store_fetch",
    "index",
    "index_watch",
    "pipeline",
    "privacy",
    "retrieval",
    "latency",
    "notes",
    "llamacpp_eviction",
    "kv_eviction",
    "gpu",
]
LINK = re.compile(r"\]\((?!https?://|#|bench/)([^)]+)\)")
SUPERSEDED = "<!-- superseded -->"
HEADING = re.compile(r"^(#+) ")
SEPARATOR = "\n---\n\n"


def current(text: str) -> str:
    """`text` without its superseded sections (a marked heading up to the next one at its level or above)."""
    kept: list[str] = []
    skipping = 0  # level of the superseded heading being skipped; 0 = keeping
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        match = None if fenced else HEADING.match(line)
        if match and skipping and len(match.group(1)) <= skipping:
            skipping = 0
        if match and line.rstrip().endswith(SUPERSEDED):
            skipping = len(match.group(1))
        if not skipping:
            kept.append(line)
    return "\n".join(kept) + "\n"


def section(name: str) -> str:
    text = current((DOCS / "bench" / f"{name}.md").read_text(encoding="utf-8"))
    text = re.sub(r"^(#+) ", r"#\1 ", text, flags=re.MULTILINE)
    return LINK.sub(r"](bench/\1)", text).strip() + "\n"


def build() -> str:
    """BENCHMARKS.md as it should read now."""
    head = (DOCS / "BENCHMARKS.md").read_text(encoding="utf-8").split("\n## ", 1)[0].rstrip()
    while head.endswith("---"):  # the separators before the first section (any number of them)
        head = head.removesuffix("---").rstrip()
    names = [n for n in ORDER if (DOCS / "bench" / f"{n}.md").exists()]
    names += sorted(p.stem for p in (DOCS / "bench").glob("*.md") if p.stem not in ORDER)
    return SEPARATOR.join([head + "\n", *(section(n) for n in names)])


def main() -> None:
    (DOCS / "BENCHMARKS.md").write_text(build(), encoding="utf-8")


if __name__ == "__main__":
    main()
