"""Watcher and OCR figures: time from a file write to searchable, and OCR pages per second.

Watcher: a generated folder of `--files` notes is indexed and watched (default debounce, the real
embedder and encrypted store); then one note at a time is written and the clock runs until the batch
holding it is in the store (checked once more by a search that must find it). Baseline in the same
run: a no-watcher `index_paths` over the same folder after the same kind of change, which is what a
user ran before. OCR: generated pages (Pillow text) go through `ocr.recognise` as images and as a
scanned PDF (rasterised by pypdfium2); baseline: the text-layer PDF reader on the same number of pages.

    .venv/bin/python bench/index_watch.py --writes 15 --pages 6 --json
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.embedding import Embedder  # noqa: E402
from assistant.ingest.indexer import index_paths  # noqa: E402
from assistant.ingest.watch import Applied, WatchOptions, watch_paths  # noqa: E402

KDF = {"time_cost": 1, "memory_kib": 8192, "parallelism": 1}
LINES = ["Harbor Dental Clinic", "Invoice number 4417", "", "Total due: 120 euros", "Paid by card on 3 March"]


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) >= 2 else values[0]


TOPICS = [
    "the violin teacher moved the lesson to Wednesday",
    "the roof gutter needs clearing before the autumn storms",
    "grandmother's ninetieth birthday dinner is at the harbour restaurant",
    "the passport renewal form needs two new photographs",
    "the cat's vaccination booster is due at the vet in June",
    "the allotment committee meets about the new water tap",
    "the electric bike battery is under warranty until spring",
    "the choir concert rehearsal is in the church hall",
    "the tax return asks for the charity donation receipts",
    "the kitchen tap drips and the plumber comes on Monday",
    "the hiking boots go back to the shop for a refund",
    "the chess club tournament starts with the first round at noon",
    "the orthodontist wants a retainer check in three months",
    "the sourdough starter needs feeding twice a day",
    "the museum membership card expires at the end of the year",
]


def _note(i: int) -> str:
    return f"# Note {i}\n\nReminder {i}: the parcel locker code is {1000 + i * 37} until Friday.\n"


def _written(i: int) -> str:
    return f"# Reminder\n\nDo not forget: {TOPICS[i % len(TOPICS)]}.\n"


def bench_watch(work: Path, embedder: Embedder, files: int, writes: int) -> dict[str, Any]:
    from assistant.config import load_settings
    from assistant.wiring import create_keys, open_store

    folder = work / "watched"
    folder.mkdir(parents=True)
    for i in range(files):
        (folder / f"note-{i:04d}.md").write_text(_note(i))
    home = work / "home-watch"
    keyring = create_keys(load_settings(home=home), "bench", kdf=KDF)
    store = open_store(load_settings(home=home), keyring, dim=embedder.dim)
    stop, started, applied = threading.Event(), threading.Event(), threading.Event()
    batches: list[Applied] = []

    def on_applied(batch: Applied) -> None:
        batches.append(batch)
        applied.set()

    thread = threading.Thread(
        target=watch_paths,
        args=([str(folder)], store, embedder, keyring),
        kwargs={"stop": stop, "on_start": lambda _s: started.set(), "on_applied": on_applied},
    )
    thread.start()
    started.wait(600)
    latencies, found = [], 0
    for i in range(writes):
        time.sleep(0.5)
        applied.clear()
        t0 = time.perf_counter()
        (folder / f"new-{i:03d}.md").write_text(_written(i))
        if not applied.wait(60):
            raise SystemExit(f"write {i} was not applied within 60 s")
        latencies.append(time.perf_counter() - t0)
        query = embedder.embed([TOPICS[i % len(TOPICS)]])
        found += any(f"new-{i:03d}.md" in h.record.meta["path"] for h in store.search(query, k=5)[0])
    stop.set()
    thread.join(60)
    # baseline: what a user did before: index the whole folder again after one change
    (folder / "new-000.md").write_text(_note(20_000))
    t0 = time.perf_counter()
    index_paths([str(folder)], store, embedder, keyring)
    rerun = time.perf_counter() - t0
    store.close()
    timing = WatchOptions()
    return {
        "folder_files": files,
        "writes": writes,
        "debounce_ms": timing.debounce_ms,
        "step_ms": timing.step_ms,
        "write_to_searchable_s": {
            "median": round(statistics.median(latencies), 3),
            "p90": round(_p90(latencies), 3),
            "each": [round(x, 3) for x in latencies],
        },
        "found_by_search": f"{found}/{writes}",
        "baseline_index_rerun_s": round(rerun, 3),
        "median_vs_rerun": round(statistics.median(latencies) / rerun, 3),
    }


def _page(lines: list[str]) -> Any:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (1240, 1754), "white")  # A4 at 150 dpi
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=36)
    for i, line in enumerate(lines * 4):
        draw.text((100, 100 + 60 * i), line, fill="black", font=font)
    return image


def bench_ocr(pages: int) -> dict[str, Any]:
    from assistant.ingest import ocr
    from assistant.ingest.readers import read_document

    ocr.recognise(_page(LINES[:1]))  # loads the engine (not timed)
    images = [_page([f"Page {n}", *LINES]) for n in range(pages)]
    t0 = time.perf_counter()
    texts = [ocr.recognise(image) for image in images]
    image_s = time.perf_counter() - t0
    buf = io.BytesIO()
    images[0].save(buf, format="PDF", save_all=True, append_images=images[1:], resolution=150)
    t0 = time.perf_counter()
    doc = read_document(Path("scan.pdf"), buf.getvalue())
    pdf_s = time.perf_counter() - t0
    text_pdf = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "ingest" / "letter.pdf"
    data = text_pdf.read_bytes()
    t0 = time.perf_counter()
    rounds = max(1, pages // 2)
    for _ in range(rounds):
        read_document(text_pdf, data)
    text_s = (time.perf_counter() - t0) / (rounds * 2)
    return {
        "pages": pages,
        "page_pixels": "1240x1754 (A4 at 150 dpi)",
        "image_pages_per_s": round(pages / image_s, 3),
        "scanned_pdf_pages_per_s": round(len(doc.sections) / pdf_s, 3),
        "words_found_page_1": all(
            w in texts[0].replace(" ", "").lower() for w in ("harbor", "4417", "euros")
        ),
        "baseline_text_layer_pdf_pages_per_s": round(1 / text_s, 1),
        "ocr_slowdown_vs_text_layer": round((1 / text_s) / (pages / image_s), 1),
    }


def run(files: int, writes: int, pages: int) -> dict[str, Any]:
    load = os.getloadavg()[0]
    embedder = Embedder()
    embedder.embed(["warm up the model"] * 8)
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        watch = bench_watch(Path(tmp), embedder, files, writes)
    ocr = bench_ocr(pages)
    return {
        "machine": f"{os.cpu_count()} cores; load average {load:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end (shared with other engineers' work)",
        "watch": watch,
        "ocr": ocr,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200, help="Notes in the watched folder.")
    parser.add_argument("--writes", type=int, default=15, help="Timed single-file writes.")
    parser.add_argument("--pages", type=int, default=6, help="Pages through OCR.")
    parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
    args = parser.parse_args(argv)
    result = run(args.files, args.writes, args.pages)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        w, o = result["watch"], result["ocr"]
        print(
            f"write -> searchable: median {w['write_to_searchable_s']['median']} s, "
            f"p90 {w['write_to_searchable_s']['p90']} s (index re-run {w['baseline_index_rerun_s']} s); "
            f"OCR {o['image_pages_per_s']} pages/s (scanned PDF {o['scanned_pdf_pages_per_s']})"
        )
    return result


if __name__ == "__main__":
    main()
