"""Every reader on real files: made here with the real libraries, or the small shipped PDF."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.ingest.chunking import chunk_document
from assistant.ingest.readers import SkipFile, read_document

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
SAMPLES = Path(__file__).parent.parent / "samples" / "records"


def read(path: Path):  # type: ignore[no-untyped-def]
    return read_document(path, path.read_bytes())


def test_plain_text_keeps_text_offsets_and_letter_date(tmp_path: Path) -> None:
    text = (
        "Alderbrook Family Practice\nDate: 8 April 2025\n\nYour blood test is booked.\n\nBring your card.\n"
    )
    path = tmp_path / "letter.txt"
    path.write_text(text, encoding="utf-8")
    doc = read(path)
    assert doc.source == "note"
    assert doc.title == "Alderbrook Family Practice"
    chunks = chunk_document(doc)
    assert chunks[0].date == "2025-04-08"
    for chunk in chunks:  # offsets point back into the file's text
        assert text[chunk.start : chunk.end] == chunk.text


def test_markdown_front_matter_title_and_date(tmp_path: Path) -> None:
    path = tmp_path / "goals.md"
    path.write_text("---\ntitle: Goals\ndate: 2025-01-05\n---\n\n# Heading\n\nWalk more.\n", encoding="utf-8")
    doc = read(path)
    assert (doc.title, doc.sections[0].date) == ("Goals", "2025-01-05")


def test_markdown_heading_title_and_date_from_file_name(tmp_path: Path) -> None:
    path = tmp_path / "2024-11-30 garden.md"
    path.write_text("# Garden plan\n\nPlant garlic.\n", encoding="utf-8")
    doc = read(path)
    assert (doc.title, doc.sections[0].date) == ("Garden plan", "2024-11-30")


def test_pdf_pages_become_sections_with_page_numbers() -> None:
    doc = read(FIXTURES / "letter.pdf")
    assert doc.source == "document"
    assert doc.title == "Consultation letter"
    assert [s.meta["page"] for s in doc.sections] == [1, 2]
    assert "Levothyroxine 75 micrograms" in doc.sections[0].text
    assert doc.sections[0].date == "2025-03-03"
    chunks = chunk_document(doc)
    assert {c.meta["page"] for c in chunks} == {1, 2}


def test_docx_paragraphs_and_tables(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Care plan"
    document.add_heading("Care plan for Dana", level=1)
    document.add_paragraph("Take levothyroxine before breakfast.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Test", "When"
    table.cell(1, 0).text, table.cell(1, 1).text = "TSH", "November"
    path = tmp_path / "plan.docx"
    document.save(str(path))
    doc = read(path)
    assert doc.title == "Care plan"
    text = doc.sections[0].text
    assert "Take levothyroxine before breakfast." in text
    assert "TSH | November" in text


def test_html_drops_scripts_and_keeps_title(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Clinic news</title><script>var secret = 1;</script><style>p{}</style></head>"
        "<body><h1>Opening hours</h1><p>Open 8:30&nbsp;to 18:00.</p></body></html>",
        encoding="utf-8",
    )
    doc = read(path)
    assert doc.title == "Clinic news"
    assert "Open 8:30 to 18:00." in doc.sections[0].text
    assert "secret" not in doc.sections[0].text


def test_eml_keeps_from_to_date_subject(tmp_path: Path) -> None:
    doc = read(SAMPLES / "mail" / "2025-06-02-knee-physio.eml")
    (section,) = doc.sections
    assert doc.source == "email"
    assert section.meta["from"].startswith("Alderbrook Physiotherapy")
    assert "dana.whitfield@example.com" in section.meta["to"]
    assert section.meta["subject"] == "Physiotherapy appointment confirmed"
    assert section.date == "2025-06-02T14:30:00+01:00"
    assert "Kofi Mensah, 14 Bridge Street" in section.text  # the plain part, not the HTML one
    chunk = chunk_document(doc)[0]
    assert chunk.text.startswith("E-mail from Alderbrook Physiotherapy")
    assert "Subject: Physiotherapy appointment confirmed" in chunk.text


def test_eml_html_only_body_is_converted(tmp_path: Path) -> None:
    path = tmp_path / "m.eml"
    path.write_bytes(
        b"From: a@example.com\nTo: b@example.com\nSubject: Hi\nDate: Tue, 01 Apr 2025 10:00:00 +0000\n"
        b"Content-Type: text/html; charset=utf-8\n\n<p>See you <b>Friday</b></p>\n"
    )
    assert read(path).sections[0].text == "See you\nFriday"


def test_mbox_one_section_per_message_in_order() -> None:
    doc = read(SAMPLES / "mail" / "inbox.mbox")
    subjects = [s.meta["subject"] for s in doc.sections]
    assert len(subjects) == 5
    assert subjects[0] == "Your thyroid results and new dose"
    assert doc.sections[1].meta["from"] == "Helen Morrow <helen.morrow@example.com>"
    assert [s.date[:10] for s in doc.sections if s.date] == [
        "2025-03-21", "2025-03-24", "2025-04-02", "2025-04-03", "2025-04-12"
    ]  # fmt: skip
    chunks = chunk_document(doc)  # messages are never merged into one chunk
    assert len(chunks) == 5
    assert all(f"Subject: {c.meta['subject']}" in c.text for c in chunks)


def test_ics_events_with_dates_locations_and_repeats() -> None:
    doc = read(SAMPLES / "calendar.ics")
    assert doc.source == "calendar"
    by_title = {s.title: s for s in doc.sections}
    dentist = by_title["Dentist - filling (tooth 36) with Dr. Nasser"]
    assert dentist.date == "2025-06-19T08:30:00+00:00"
    assert "Where: Brightwater Dental Care, 5 Mill Lane" in dentist.header
    assert by_title["Book club at Priya's - The Map of the Tides"].date == "2025-03-27"
    assert "Repeats: FREQ=WEEKLY;BYDAY=TU" in by_title["Leo - piano lesson with Ms. Ferreira"].header
    # an event with no description is still one chunk (its header)
    chunks = chunk_document(doc)
    assert len(chunks) == len(doc.sections) == 9


def test_json_records_one_section_each(tmp_path: Path) -> None:
    path = tmp_path / "readings.json"
    records = [
        {"date": "2025-03-18", "test": "TSH", "value": 6.2},
        {"date": "2025-05-12", "test": "TSH", "value": 2.1},
    ]
    path.write_text(json.dumps({"readings": records}), encoding="utf-8")
    doc = read(path)
    assert doc.source == "record"
    assert [s.date for s in doc.sections] == ["2025-03-18", "2025-05-12"]
    assert "test: TSH\nvalue: 6.2" in doc.sections[0].text


def test_json_nested_object_is_flattened(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_text(json.dumps({"name": "Dana", "doctor": {"name": "Okafor", "phones": ["555-0142"]}}))
    (section,) = read(path).sections
    assert section.text.splitlines() == ["name: Dana", "doctor.name: Okafor", "doctor.phones: 555-0142"]


def test_csv_rows_become_records(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_text("Date;Payee;Amount\n2025-04-03;Alderbrook Pharmacy;-9.90\n2025-04-05;Music School;-65\n")
    doc = read(path)
    assert [s.date for s in doc.sections] == ["2025-04-03", "2025-04-05"]
    assert doc.sections[1].text == "Date: 2025-04-05\nPayee: Music School\nAmount: -65"


def test_vcf_contacts_with_folded_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.vcf"
    path.write_bytes(
        b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Kofi Mensah\r\nTEL;TYPE=work:555-0188\r\nNOTE:Physio\\, knee\r\n"
        b"  rehab\r\nitem1.EMAIL:kofi@example.org\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\nN:Reyes;Joanne;;;\r\nEND:VCARD\r\n"
    )
    doc = read(path)
    assert doc.source == "contact"
    assert [s.title for s in doc.sections] == ["Kofi Mensah", "Joanne Reyes"]
    assert doc.sections[0].text.splitlines() == [
        "Phone (work): 555-0188",
        "Note: Physio, knee rehab",
        "E-mail: kofi@example.org",
    ]


def test_samples_corpus_is_small_and_fully_readable() -> None:
    files = sorted(p for p in SAMPLES.rglob("*") if p.is_file())
    chunks = [c for p in files for c in chunk_document(read(p))]
    assert 20 <= len(chunks) <= 40
    assert {c.source for c in chunks} == {"note", "email", "calendar", "contact"}
    assert any("88 micrograms" in c.text for c in chunks)


@pytest.mark.parametrize("name", ["a.xyz", "Makefile"])
def test_unknown_types_are_skipped_with_a_reason(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("hello")
    with pytest.raises(SkipFile, match="unsupported type"):
        read(path)
