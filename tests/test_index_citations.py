"""Sources a user can check: after indexing the sample records and a two-page PDF, each source says
where its passage is: the PDF page, the e-mail (subject, sender, date) or the calendar event."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.embedding import Embedder
from assistant.ingest.indexer import index_paths
from assistant.pipeline.retrieval import retrieve
from assistant.pipeline.types import Source
from tests.fixtures.ingest.helpers import open_real_store

ROOT = Path(__file__).parent.parent
pytestmark = pytest.mark.slow  # embeds the sample corpus


def test_sources_name_page_message_and_event(tmp_path: Path, isolated_home: Path) -> None:
    corpus = Path(shutil.copytree(ROOT / "samples" / "records", tmp_path / "records"))
    shutil.copy(ROOT / "tests" / "fixtures" / "ingest" / "letter.pdf", corpus / "letter.pdf")
    embedder = Embedder()
    _settings, keyring, store = open_real_store(isolated_home)
    try:
        index_paths([str(corpus)], store, embedder, keyring)

        def found(question: str, name: str) -> Source:
            """The best source from file `name` (retrieval quality is not under test here)."""
            sources = [r.source() for r in retrieve(store, embedder, [question], k=12)]
            return next(s for s in sources if Path(s.path).name == name)

        page = found("Page two: follow-up planned in eight weeks", "letter.pdf")
        assert page.page == 2 and page.where == "page 2"
        mail = found("Physiotherapy appointment confirmed", "2025-06-02-knee-physio.eml")
        assert (
            mail.where.startswith('e-mail "Physiotherapy appointment confirmed" from ')
            and "2025-" in mail.where
        )
        assert mail.page is None and not mail.ocr
        event = found("Repeat TSH blood test", "calendar.ics")
        assert event.where.startswith('event "Repeat TSH blood test", 20')
        note = found("goals for the year", "2025-01-05-goals-for-the-year.md")
        assert note.where == ""  # control: a plain note has no page, message or event to name
    finally:
        store.close()
