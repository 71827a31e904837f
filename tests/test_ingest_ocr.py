"""Text recognition on scans the test draws itself (Pillow renders known text; PDFs are made from the
images, so they have no text layer): the words come back, marked as OCR, with pages; bounds hold;
a missing OCR extra is a skip that names it; a question is answered from a scan."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from assistant.ingest import ocr
from assistant.ingest.readers import SkipFile, read_document

pytestmark = pytest.mark.slow  # real OCR models (a few seconds per page on a loaded box)

INVOICE = ["Harbor Dental Clinic", "Invoice number 4417", "", "Total due: 120 euros", "Paid by card"]
FOLLOW_UP = ["Physiotherapy referral", "Knee exercises twice daily", "Review in six weeks"]


def page(lines: list[str]) -> Image.Image:
    """A white A4-ish page at about 100 dpi with large, clean type (what OCR reads well)."""
    image = Image.new("RGB", (1240, 700), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=40)
    for i, line in enumerate(lines):
        draw.text((80, 60 + 70 * i), line, fill="black", font=font)
    return image


def has_words(text: str, wanted: list[str]) -> bool:
    """Every word is there (the engine sometimes drops the space between two words)."""
    return all(w in re.sub(r"\s+", "", text.lower()) for w in wanted)


def save(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


@pytest.mark.parametrize("name,fmt", [("invoice.png", "PNG"), ("invoice.jpg", "JPEG")])
def test_image_words_come_back_marked_as_ocr(name: str, fmt: str) -> None:
    doc = read_document(Path(name), save(page(INVOICE), fmt))
    (section,) = doc.sections
    assert section.meta == {"ocr": True}
    assert has_words(section.text, ["harbor", "dental", "clinic", "invoice", "4417", "total", "120", "euros"])
    assert not has_words(section.text, ["physiotherapy"])  # control: the check can fail
    assert doc.title.lower().replace(" ", "") == "harbordentalclinic"


def test_multi_page_tiff_keeps_its_pages() -> None:
    data = save(page(INVOICE), "TIFF", save_all=True, append_images=[page(FOLLOW_UP)])
    doc = read_document(Path("letters.tiff"), data)
    assert [s.meta for s in doc.sections] == [{"ocr": True, "page": 1}, {"ocr": True, "page": 2}]
    assert has_words(doc.sections[1].text, ["physiotherapy", "referral", "knee"])
    assert "physiotherapy" not in doc.sections[0].text.lower()


def test_scanned_pdf_pages_are_rasterised_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    data = save(page(FOLLOW_UP), "PDF", save_all=True, append_images=[page(INVOICE)], resolution=100)
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 2 and not any((p.extract_text() or "").strip() for p in reader.pages)
    monkeypatch.setattr(ocr, "MAX_PAGES", 1)  # the bound: only the first scanned page is read
    doc = read_document(Path("referral.pdf"), data)
    (section,) = doc.sections
    assert section.meta == {"page": 1, "ocr": True}
    assert has_words(section.text, ["physiotherapy", "referral", "knee", "exercises", "review"])


def test_text_pdf_pages_do_not_go_through_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> str:
        raise AssertionError("a page with a text layer was sent to OCR")

    monkeypatch.setattr(ocr, "recognise", refuse)
    pdf = Path(__file__).parent / "fixtures" / "ingest" / "letter.pdf"
    doc = read_document(pdf, pdf.read_bytes())
    assert [s.meta for s in doc.sections] == [{"page": 1}, {"page": 2}]


def test_bounds_on_image_size() -> None:
    big = Image.new("L", (6000, 300), 255)
    assert max(ocr.fit(big).size) == ocr.MAX_SIDE
    with pytest.raises(SkipFile, match="too large"):
        ocr.check_size(20_000, 20_000)
    ocr.check_size(4000, 3000)  # control: a phone photo is fine


def test_missing_extra_is_a_skip_that_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    png = save(page(INVOICE), "PNG")
    pdf = save(page(INVOICE), "PDF")
    assert ocr.available()  # control: installed here, so the skip below comes from its absence
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)  # as if the extra were not installed
    assert not ocr.available()
    for name, data in (("scan.png", png), ("scan.pdf", pdf)):
        with pytest.raises(SkipFile) as caught:
            read_document(Path(name), data)
        assert "`ocr` extra" in caught.value.reason and "private-assistant[ocr]" in caught.value.reason


def test_a_question_answered_from_a_scan(tmp_path: Path, isolated_home: Path) -> None:
    from assistant.embedding import Embedder
    from assistant.ingest.indexer import index_paths
    from assistant.pipeline.retrieval import retrieve
    from tests.fixtures.ingest.helpers import open_real_store

    folder = tmp_path / "records"
    folder.mkdir()
    (folder / "invoice-scan.png").write_bytes(save(page(INVOICE), "PNG"))
    (folder / "garden.md").write_text("# Garden\n\nPlant the tomato seedlings in late April.\n")
    (folder / "car.md").write_text("# Car\n\nThe next car service is due at 60,000 km.\n")
    embedder = Embedder()
    _settings, keyring, store = open_real_store(isolated_home)
    try:
        summary = index_paths([str(folder)], store, embedder, keyring)
        assert summary.files_indexed == 3 and not summary.skipped
        (top, *_rest) = retrieve(store, embedder, ["How much did I pay Harbor Dental for invoice 4417?"], k=3)
        source = top.source()
        assert Path(source.path).name == "invoice-scan.png"
        assert source.ocr and "recognised from a scan" in source.where and "4417" in source.snippet
    finally:
        store.close()
