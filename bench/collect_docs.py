"""Rebuild docs/BENCHMARKS.md from its summary head and the per-area write-ups in docs/bench/.

Usage: python bench/collect_docs.py
The head (everything before the first "## ") is kept; each docs/bench/*.md follows with its headings
one level down and its relative links pointing into bench/.
"""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"
ORDER = [
    "local_model",
    "encrypted_store",
    "index",
    "pipeline",
    "notes",
    "llamacpp_eviction",
    "kv_eviction",
    "latency",
]
LINK = re.compile(r"\]\((?!https?://|#|bench/)([^)]+)\)")


def section(name: str) -> str:
    text = (DOCS / "bench" / f"{name}.md").read_text(encoding="utf-8")
    text = re.sub(r"^(#+) ", r"#\1 ", text, flags=re.MULTILINE)
    return LINK.sub(r"](bench/\1)", text).strip() + "\n"


def build() -> str:
    """BENCHMARKS.md as it should read now."""
    head = (DOCS / "BENCHMARKS.md").read_text(encoding="utf-8").split("\n## ", 1)[0].rstrip()
    head = head.removesuffix("---").rstrip() + "\n"  # the separator before the first section
    return "\n---\n\n".join([head, *(section(n) for n in ORDER)])


def main() -> None:
    (DOCS / "BENCHMARKS.md").write_text(build(), encoding="utf-8")


if __name__ == "__main__":
    main()
