"""End-to-end indexing speed: generated personal corpus -> chunks -> embeddings -> encrypted store.

Generates a corpus of about N chunks (Markdown notes, mailboxes, calendars), indexes it into a fresh
data dir with the real embedder and the real encrypted store, then runs again with no changes.
Reports chunks/s, the time per stage (read = walk + read + parse + chunk, embed, encrypt = AES-GCM
sealing + CKKS block encryption, store = SQLite and the rest of the store's work), peak memory, and
the no-change re-run against the first run. The embedding model is loaded before timing starts.

    .venv/bin/python bench/index.py --chunks 5000 --json [--runs 3] [--keep DIR]
    .venv/bin/python bench/index.py --watch-ocr --writes 15 --pages 6 --json   (watcher and OCR)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.embedding import Embedder  # noqa: E402
from assistant.ingest.chunking import chunk_document  # noqa: E402
from assistant.ingest.indexer import index_paths  # noqa: E402
from assistant.ingest.readers import read_document  # noqa: E402

TARGET_CHUNKS_PER_S = 300
TARGET_RERUN_SPEEDUP = 20
KDF = {"time_cost": 1, "memory_kib": 8192, "parallelism": 1}
VOCAB_TEXT = (
    "the a to of and in for with on at my we our she he her his it was is will be have had this that "
    "appointment clinic doctor dose tablet results blood test letter referral pharmacy prescription "
    "garden budget project atlas printer proofs deadline meeting school piano lesson swimming pool "
    "holiday train ticket insurance policy invoice payment account bank savings rent landlord repair "
    "birthday party present book club reading dinner friends family sister brother mother father "
    "morning afternoon evening monday tuesday wednesday thursday friday saturday sunday week month "
    "march april may june july august september october november december january february "
    "moved booked cancelled confirmed asked said wrote called paid sent received checked remember"
)
VOCAB = VOCAB_TEXT.split()


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(VOCAB) for _ in range(rng.randint(8, 18))]
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random, sentences: tuple[int, int]) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(*sentences)))


def _note(rng: random.Random, i: int) -> str:
    paras = [_paragraph(rng, (2, 5)) for _ in range(rng.randint(2, 6))]
    return f"# Note {i}\n\nDate: 2025-{1 + i % 12:02d}-{1 + i % 28:02d}\n\n" + "\n\n".join(paras) + "\n"


def _mbox(rng: random.Random, i: int, messages: int = 40) -> str:
    out = []
    for m in range(messages):
        body = "\n\n".join(_paragraph(rng, (1, 3)) for _ in range(rng.randint(1, 2)))
        out.append(
            f"From sender{m}@example.com Mon Mar  3 10:00:00 2025\nFrom: Sender {m} <sender{m}@example.com>\n"
            f"To: Dana <dana@example.com>\nDate: Mon, 03 Mar 2025 10:{m % 60:02d}:00 +0000\n"
            f"Subject: {_sentence(rng)[:40]}\nContent-Type: text/plain; charset=utf-8\n\n{body}\n"
        )
    return "\n".join(out)


def _ics(rng: random.Random, i: int, events: int = 50) -> str:
    out = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//EN"]
    for e in range(events):
        out += [
            "BEGIN:VEVENT",
            f"UID:{i}-{e}@bench",
            "DTSTAMP:20250101T000000Z",
            f"DTSTART:2025{1 + e % 12:02d}{1 + e % 28:02d}T{8 + e % 10:02d}0000Z",
            f"SUMMARY:{_sentence(rng)[:50]}",
            f"LOCATION:{rng.choice(VOCAB).title()} Street {e}",
            f"DESCRIPTION:{_sentence(rng)}",
            "END:VEVENT",
        ]
    return "\r\n".join(out + ["END:VCALENDAR"]) + "\r\n"


def make_corpus(folder: Path, chunks: int, seed: int = 0) -> tuple[int, int, list[str]]:
    """Write files until they hold at least `chunks` chunks (notes 50%, mail 35%, calendar 15%)."""
    rng = random.Random(seed)
    kinds = [("notes", ".md", _note, 0.50), ("mail", ".mbox", _mbox, 0.35), ("calendar", ".ics", _ics, 0.15)]
    total = files = 0
    texts: list[str] = []
    counts = dict.fromkeys((k for k, *_ in kinds), 0)
    while total < chunks:
        name, suffix, make, share = min(kinds, key=lambda k: counts[k[0]] / k[3])
        path = folder / name / f"{name}-{files:05d}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make(rng, files), encoding="utf-8")
        made = chunk_document(read_document(path, path.read_bytes()))
        texts.extend(c.text for c in made[:2])
        n = len(made)
        counts[name] += n
        total += n
        files += 1
    return files, total, texts


class StageTimer:
    """Wraps the store's encryption calls to split "encrypt" from "store" (measurement only)."""

    def __init__(self, store: Any) -> None:
        self.seconds = 0.0
        self._wrap(store.keyring, "seal")
        self._wrap(store.kit, "encrypt_block")

    def _wrap(self, obj: Any, name: str) -> None:
        real = getattr(obj, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0

        setattr(obj, name, timed)


def short_sentence_rate(embedder: Embedder, n: int = 256) -> float:
    """Embedding speed on short sentences, the figure FINDINGS.md quotes (about 550/s on a quiet box)."""
    rng = random.Random(1)
    sentences = [_sentence(rng) for _ in range(n)]
    t0 = time.perf_counter()
    embedder.embed(sentences)
    return n / (time.perf_counter() - t0)


def mean_word_pieces(embedder: Embedder, texts: list[str]) -> float:
    tokenizer = embedder._load().tokenizer
    sample = texts[:: max(1, len(texts) // 500)]
    return statistics.mean(len(tokenizer(t, truncation=True, max_length=512)["input_ids"]) for t in sample)


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_pass(home: Path, corpus: Path, embedder: Embedder, keyring: Any) -> dict[str, Any]:
    from assistant.config import load_settings
    from assistant.wiring import open_store

    store = open_store(load_settings(home=home), keyring, dim=embedder.dim)
    timer = StageTimer(store)
    t0 = time.perf_counter()
    summary = index_paths([str(corpus)], store, embedder, keyring)
    t1 = time.perf_counter()
    store.close()  # encrypts the records still pending into CKKS blocks
    seconds = time.perf_counter() - t0
    stages = dict(summary.stages)
    stages["store"] += time.perf_counter() - t1 - timer.seconds
    stages["encrypt"] = timer.seconds
    return {
        "seconds": round(seconds, 3),
        "files_seen": summary.files_seen,
        "files_indexed": summary.files_indexed,
        "chunks_added": summary.chunks_added,
        "chunks_per_s": round(summary.chunks_added / seconds, 1),
        "stages_s": {k: round(stages[k], 3) for k in ("read", "embed", "encrypt", "store")},
        "embed_only_chunks_per_s": round(summary.chunks_added / stages["embed"], 1)
        if stages["embed"]
        else None,
    }


def run(chunks: int, runs: int, keep: Path | None) -> dict[str, Any]:
    from assistant.config import load_settings
    from assistant.wiring import create_keys

    work = keep or Path(tempfile.mkdtemp(prefix="bench-index-"))
    corpus = work / "corpus"
    t0 = time.perf_counter()
    files, total, texts = make_corpus(corpus, chunks)
    gen_s = time.perf_counter() - t0
    rss_start = _rss_mib()
    embedder = Embedder()
    t0 = time.perf_counter()
    embedder.embed(["warm up the model"] * 8)
    load_s = time.perf_counter() - t0
    rss_model = _rss_mib()
    baseline_before = short_sentence_rate(embedder)
    firsts, reruns = [], []
    for i in range(runs):
        home = work / f"home-{i}"
        keyring = create_keys(load_settings(home=home), "bench", kdf=KDF)
        firsts.append(one_pass(home, corpus, embedder, keyring))
        reruns.append(one_pass(home, corpus, embedder, keyring))
    baseline_after = short_sentence_rate(embedder)
    baseline = statistics.median([baseline_before, baseline_after])
    first_s = statistics.median(r["seconds"] for r in firsts)
    rerun_s = statistics.median(r["seconds"] for r in reruns)
    rate = statistics.median(r["chunks_per_s"] for r in firsts)
    return {
        "machine": f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the end",
        "corpus": {
            "files": files,
            "chunks": total,
            "mean_word_pieces_per_chunk": round(mean_word_pieces(embedder, texts), 1),
            "generate_s": round(gen_s, 2),
        },
        "short_sentences_per_s": [round(baseline_before, 1), round(baseline_after, 1)],
        "chunks_per_s_vs_short_sentences_per_s": round(rate / baseline, 3),
        "model_load_s": round(load_s, 2),
        "runs": runs,
        "first_run": {"median_seconds": first_s, "median_chunks_per_s": rate, "each": firsts},
        "rerun_no_changes": {
            "median_seconds": rerun_s,
            "chunks_added": max(r["chunks_added"] for r in reruns),
            "each": reruns,
        },
        "rerun_speedup": round(first_s / rerun_s, 1) if rerun_s else None,
        "peak_rss_mib": round(_rss_mib(), 1),
        "rss_before_model_mib": round(rss_start, 1),
        "rss_after_model_mib": round(rss_model, 1),
        "targets": {
            "chunks_per_s": TARGET_CHUNKS_PER_S,
            "met_chunks_per_s": rate >= TARGET_CHUNKS_PER_S,
            "rerun_speedup": TARGET_RERUN_SPEEDUP,
            "met_rerun": bool(rerun_s) and first_s / rerun_s >= TARGET_RERUN_SPEEDUP,
        },
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=5000, help="Size of the generated corpus, in chunks.")
    parser.add_argument("--runs", type=int, default=1, help="Fresh index + re-run pairs; medians reported.")
    parser.add_argument("--keep", type=Path, default=None, help="Work folder to keep (default: a temp dir).")
    parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
    parser.add_argument(
        "--watch-ocr", action="store_true", help="Measure the watcher and OCR instead (bench/index_watch.py)."
    )
    args, rest = parser.parse_known_args(argv)
    if args.watch_ocr:
        from index_watch import main as watch_main  # bench/ is the script's folder

        return watch_main(rest + (["--json"] if args.json else []))
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    result = run(args.chunks, args.runs, args.keep)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        first = result["first_run"]
        print(
            f"{result['corpus']['chunks']} chunks: {first['median_chunks_per_s']} chunks/s "
            f"({first['median_seconds']} s); re-run {result['rerun_no_changes']['median_seconds']} s "
            f"({result['rerun_speedup']}x faster); peak RSS {result['peak_rss_mib']} MiB"
        )
    return result


if __name__ == "__main__":
    main()
