"""Chunking follows structure, respects the token limit, overlaps, and keeps offsets and dates."""

from __future__ import annotations

import pytest

from assistant.ingest.chunking import chunk_document, count_tokens
from assistant.ingest.types import Document, Section


def doc_of(*sections: Section) -> Document:
    return Document("/x/doc.txt", "note", "Doc", sections)


def paragraph(i: int, words: int = 40) -> str:
    return " ".join(f"p{i}w{j}" for j in range(words)) + "."


def test_short_paragraphs_are_packed_into_one_chunk() -> None:
    text = "First line.\n\nSecond line.\n\n\nThird line."
    (chunk,) = chunk_document(doc_of(Section(text, start=0, date="2025-01-01")))
    assert chunk.text == text
    assert (chunk.start, chunk.end, chunk.date) == (0, len(text), "2025-01-01")


def test_limit_respected_with_paragraph_overlap_and_exact_offsets() -> None:
    text = "\n\n".join(paragraph(i, 20) for i in range(12))  # 21 tokens each
    section = Section(text, start=100)
    chunks = chunk_document(doc_of(section), max_tokens=70, overlap=25)
    assert len(chunks) > 3
    for chunk in chunks:
        assert count_tokens(chunk.text) <= 70
        assert text[chunk.start - 100 : chunk.end - 100] == chunk.text
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        last_paragraph = prev.text.split("\n\n")[-1]
        assert nxt.text.startswith(last_paragraph)  # one paragraph of overlap
        assert nxt.end > prev.end
    # every paragraph lands in some chunk
    assert all(any(f"p{i}w0 " in c.text for c in chunks) for i in range(12))


def test_overlong_paragraph_is_split_at_sentence_ends_with_overlap() -> None:
    sentences = [f"Sentence {i} says {' '.join('word' for _ in range(8))}." for i in range(40)]
    text = " ".join(sentences)
    chunks = chunk_document(doc_of(Section(text)), max_tokens=60, overlap=10)
    assert len(chunks) >= 8
    for chunk in chunks:
        assert count_tokens(chunk.text) <= 60
        assert text[chunk.start : chunk.end] == chunk.text
    assert all(c.text.endswith(".") for c in chunks)  # cut at sentence ends
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert nxt.start < prev.end  # overlapping windows


def test_sections_never_share_a_chunk_and_keep_their_own_dates() -> None:
    a = Section(
        "Body of the first message.", start=0, header="E-mail from A", date="2025-03-01", meta={"n": 1}
    )
    b = Section("Body of the second.", start=30, header="E-mail from B", date="2025-03-02", meta={"n": 2})
    chunks = chunk_document(doc_of(a, b))
    assert [c.text for c in chunks] == [
        "E-mail from A\nBody of the first message.",
        "E-mail from B\nBody of the second.",
    ]
    assert [(c.date, c.meta["n"], c.index) for c in chunks] == [("2025-03-01", 1, 0), ("2025-03-02", 2, 1)]
    assert (chunks[1].start, chunks[1].end) == (30, 30 + len(b.text))


def test_header_counts_against_the_limit() -> None:
    header = "E-mail from " + " ".join(f"person{i}@example.com" for i in range(10))
    body = "\n\n".join(paragraph(i, 15) for i in range(10))
    for chunk in chunk_document(doc_of(Section(body, header=header)), max_tokens=120, overlap=10):
        assert chunk.text.startswith(header)
        assert count_tokens(chunk.text) <= 120


def test_empty_section_without_header_yields_nothing() -> None:
    assert chunk_document(doc_of(Section("   \n\n  "))) == []


def test_store_meta_has_path_offsets_source_and_date() -> None:
    (chunk,) = chunk_document(doc_of(Section("Hello there.", start=5, date="2025-02-03", meta={"page": 2})))
    assert chunk.store_meta() == {
        "path": "/x/doc.txt",
        "source": "note",
        "start": 5,
        "end": 17,
        "chunk": 0,
        "title": "Doc",
        "date": "2025-02-03",
        "page": 2,
    }


@pytest.mark.parametrize(("max_tokens", "overlap"), [(4, 0), (50, 50), (50, -1)])
def test_bad_limits_are_refused(max_tokens: int, overlap: int) -> None:
    with pytest.raises(ValueError):
        chunk_document(doc_of(Section("text")), max_tokens=max_tokens, overlap=overlap)
