"""Note-mode evaluation on ACI-BENCH: ROUGE (whole and per section), fact recall, grounding, seconds.

Runs the real note pipeline with the active local model (ASSISTANT_MODEL; default: the best installed,
else the bundled SmolLM2-135M) over the sample's transcripts and scores each note against its reference.

    .venv/bin/python bench/notes_eval.py --json --limit 5
    ASSISTANT_MODEL=/path/Llama-3.2-1B-Instruct-Q4_K_M.gguf .venv/bin/python bench/notes_eval.py --json

Two floors are scored in the same run for scale: the note with every section empty (headings only)
and an extractive "lead" note (the first doctor turns under the headings). The grounding check is also
run on the human reference notes, which measures its false-flag rate on paraphrase.

Fact recall (assistant/notes/recall.py): of the medications, doses, vitals, allergies, diagnoses and
follow-up intervals that the reference note states and the transcript contains, the share our note
states. With the bundled demo model the note is written from the extracted facts (the product's
behaviour for that model); `--model-writes` asks the model for every field instead (slow on CPU).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.notes.extract import ExtractOptions  # noqa: E402
from assistant.notes.grounding import check_note  # noqa: E402
from assistant.notes.note import ClinicalNote, generate_note  # noqa: E402
from assistant.notes.offline import network_blocked  # noqa: E402
from assistant.notes.recall import CATEGORIES, fact_recall  # noqa: E402
from assistant.notes.render import json_problems, structure_problems, to_json, to_markdown, to_plain_text  # noqa: E402
from assistant.notes.sections import FIELD_KEYS  # noqa: E402
from assistant.notes.transcript import parse_transcript  # noqa: E402
from models import catalog  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "aci-bench"
FIXTURE_DATA = ROOT / "tests" / "fixtures" / "aci"
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
SECTION_KEYS = ("chief_complaint", "history_of_present_illness", "review_of_systems", "physical_exam",
                "results", "assessment_and_plan")  # fmt: skip
_SECTION_WORDS = (  # reference heading words -> our section (first match wins)
    ("CHIEF", "chief_complaint"), ("REVIEW", "review_of_systems"), ("EXAM", "physical_exam"),
    ("VITAL", "physical_exam"), ("RESULT", "results"), ("ASSESSMENT", "assessment_and_plan"),
    ("PLAN", "assessment_and_plan"), ("IMPRESSION", "assessment_and_plan"),
    ("INSTRUCTION", "assessment_and_plan"), ("PROCEDURE", "assessment_and_plan"),
    ("HISTORY", "history_of_present_illness"), ("HPI", "history_of_present_illness"),
    ("MEDICATION", "history_of_present_illness"), ("ALLERG", "history_of_present_illness"),
)  # fmt: skip
ANCHORS = {  # published ROUGE-1 on ACI-BENCH-style notes (fractions), for the report
    "llama-3.2-1b_base": 0.346,
    "llama-3.2-1b_lora": 0.496,
    "gpt-4": 0.518,
    "bart_finetuned": 0.535,
}


def load_cases(data: Path) -> list[dict[str, str]]:
    """valid.json then test1.json (the 60-case sample), or every *.json in `data` in name order."""
    files = [data / n for n in ("valid.json", "test1.json") if (data / n).is_file()]
    files = files or sorted(data.glob("*.json"))
    if not files:
        raise SystemExit(f"no ACI-BENCH json files in {data}")
    return [case for f in files for case in json.loads(f.read_text(encoding="utf-8"))["data"]]


def reference_statements(note: str) -> list[str]:
    """A reference note's sentences, without headings, for the grounding false-flag baseline."""
    out = []
    for line in note.splitlines():
        line = line.strip(" •*-\t")
        if not line or (line.upper() == line and len(line) < 60):  # a heading such as "RESULTS"
            continue
        out.extend(s for s in re.split(r"(?<=[.?!])\s+", line) if len(s) > 2)
    return out


def reference_sections(note: str) -> dict[str, str]:
    """A reference note's text per our section, by its headings (unknown headings join the previous)."""
    out: dict[str, list[str]] = {}
    current = "history_of_present_illness"
    for line in note.splitlines():
        bare = line.strip(" •*-\t:")
        if bare and bare.upper() == bare and len(bare) < 60 and any(ch.isalpha() for ch in bare):
            current = next((key for word, key in _SECTION_WORDS if word in bare), current)
            continue
        out.setdefault(current, []).append(line)
    return {key: "\n".join(lines) for key, lines in out.items() if "".join(lines).strip()}


def lead_note(transcript_text: str, words: int = 250) -> ClinicalNote:
    """A no-model floor: the first `words` words the doctor says, as the HPI."""
    doctor = " ".join(ln.split(":", 1)[1] for ln in transcript_text.splitlines() if ln.startswith("Doctor:"))
    fields: dict[str, tuple[str, ...]] = {key: () for key in FIELD_KEYS}
    fields["history_of_present_illness"] = (" ".join((doctor or transcript_text).split()[:words]),)
    return ClinicalNote(fields=fields)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA if DEFAULT_DATA.is_dir() else FIXTURE_DATA)
    parser.add_argument("--start", type=int, default=0, help="Skip the first N cases.")
    parser.add_argument("--limit", type=int, default=None, help="At most N cases.")
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    parser.add_argument("--save", type=Path, help="Also write per-case results (JSON lines) here.")
    parser.add_argument("--max-items", type=int, default=4)
    parser.add_argument("--max-chars", type=int, default=160)
    parser.add_argument("--chunk-tokens", type=int, default=3072)
    parser.add_argument("--model-writes", action="store_true", help="Ask the model for every field.")
    parser.add_argument(
        "--from-saved", type=Path, nargs="+", help="Summarize --save files of earlier runs; run nothing."
    )
    args = parser.parse_args(argv)
    if args.from_saved:
        rows = [json.loads(ln) for f in args.from_saved for ln in f.read_text().splitlines() if ln.strip()]
        meta = rows[0].get("model", "not recorded") if rows else "not recorded"
        options = ExtractOptions(
            max_items=args.max_items, max_chars=args.max_chars, chunk_tokens=args.chunk_tokens
        )
        print(json.dumps(summarize(rows, meta, meta == catalog.BUNDLED_NAME, args, options), indent=2))
        return 0

    from rouge_score import rouge_scorer

    from assistant.config import load_settings
    from assistant.wiring import load_model

    cases = load_cases(args.data)[args.start :][: args.limit]
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    options = ExtractOptions(
        max_items=args.max_items, max_chars=args.max_chars, chunk_tokens=args.chunk_tokens
    )
    rows: list[dict[str, Any]] = []
    with network_blocked():
        model = load_model(load_settings())
        try:
            for index, case in enumerate(cases, 1):
                rows.append(
                    {"model": model.name, **evaluate_case(case, model, options, scorer, args.model_writes)}
                )
                row = rows[-1]
                print(
                    f"[{index}/{len(cases)}] {row['file']}: rouge1 {row['rouge1']:.3f} valid {row['valid']} "
                    f"flags {row['flags']}/{row['statements']} {row['seconds']:.1f}s chunks {row['chunks']}",
                    file=sys.stderr,
                    flush=True,
                )
                if args.save:
                    with args.save.open("a", encoding="utf-8") as fh:
                        fh.write(json.dumps(row) + "\n")
        finally:
            model.close()
    summary = summarize(rows, model.name, model.demo_quality, args, options)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key:28} {value}")
    return 0


def evaluate_case(
    case: dict[str, str], model: Any, options: ExtractOptions, scorer: Any, model_writes: bool = False
) -> dict[str, Any]:
    transcript = parse_transcript(case["src"])
    started = time.perf_counter()
    note = generate_note(transcript, model, options, model_writes=True if model_writes else None)
    seconds = time.perf_counter() - started
    plain = to_plain_text(note)
    ours = to_json(note)["sections"]
    per_section = {
        key: scorer.score(ref, "\n".join(ours.get(key, [])))["rouge1"].fmeasure
        for key, ref in reference_sections(case["tgt"]).items()
    }
    recall = fact_recall(case["tgt"], transcript.text, plain)
    evidenced = sum(bool(turns) for turns_list in note.evidence.values() for turns in turns_list)
    markdown = to_markdown(note)
    valid = not structure_problems(markdown) and not json_problems(to_json(note))
    valid_soap = not structure_problems(to_markdown(note, "soap"), "soap")
    scores = scorer.score(case["tgt"], plain)
    empty = ClinicalNote(fields={key: () for key in FIELD_KEYS})
    ref_statements = reference_statements(case["tgt"])
    ref_flags = check_note({"reference": ref_statements}, transcript.text)
    return {
        "file": case.get("file", ""),
        "valid": valid and valid_soap,
        **{t: scores[t].fmeasure for t in ROUGE_TYPES},
        "empty_rouge1": scorer.score(case["tgt"], to_plain_text(empty))["rouge1"].fmeasure,
        "lead_rouge1": scorer.score(case["tgt"], to_plain_text(lead_note(transcript.text)))[
            "rouge1"
        ].fmeasure,
        "statements": note.statements(),
        "statements_with_evidence": evidenced,
        "section_rouge1": per_section,
        "fact_recall": {k: list(v) for k, v in recall.items()},
        "fields_from_facts": len(note.from_facts),
        "flags": len(note.flags),
        "reference_statements": len(ref_statements),
        "reference_flags": len(ref_flags),
        "seconds": seconds,
        "chunks": note.stats.chunks,
        "calls": note.stats.calls,
        "repaired": note.stats.repaired,
        "trimmed": note.stats.trimmed,
        "transcript_tokens": sum(note.stats.per_chunk_tokens),
        "completion_tokens": note.stats.completion_tokens,
    }


def summarize(
    rows: list[dict[str, Any]], model: str, demo: bool, args: argparse.Namespace, options: ExtractOptions
) -> dict[str, Any]:
    def mean(key: str) -> float:
        return round(statistics.fmean(r[key] for r in rows), 4) if rows else 0.0

    statements = sum(r["statements"] for r in rows)
    ref_statements = sum(r["reference_statements"] for r in rows)
    calls = sum(r["calls"] for r in rows)
    return {
        "model": model,
        "demo_quality": demo,
        "cases": len(rows),
        "data": str(args.data),
        "options": {
            "max_items": options.max_items,
            "max_chars": options.max_chars,
            "chunk_tokens": options.chunk_tokens,
        },
        **{t: mean(t) for t in ROUGE_TYPES},
        "structure_valid_rate": mean("valid"),
        "grounding_flag_rate": round(sum(r["flags"] for r in rows) / statements, 4) if statements else 0.0,
        "notes_with_flags_rate": round(sum(r["flags"] > 0 for r in rows) / len(rows), 4) if rows else 0.0,
        "reference_flag_rate": round(sum(r["reference_flags"] for r in rows) / ref_statements, 4)
        if ref_statements
        else 0.0,
        "statements_per_note": mean("statements"),
        "seconds_per_note_median": round(statistics.median(r["seconds"] for r in rows), 2) if rows else 0.0,
        "seconds_per_note_mean": mean("seconds"),
        "chunks_per_note": mean("chunks"),
        "multi_chunk_notes": sum(r["chunks"] > 1 for r in rows),
        "repaired_reply_rate": round(sum(r["repaired"] for r in rows) / calls, 4) if calls else 0.0,
        "trimmed_prompts": sum(r["trimmed"] for r in rows),
        "section_rouge1": {
            key: round(statistics.fmean(vals), 4)
            for key in SECTION_KEYS
            if (vals := [r["section_rouge1"][key] for r in rows if key in r.get("section_rouge1", {})])
        },
        **_recall_summary(rows),
        "evidence_rate": round(sum(r.get("statements_with_evidence", 0) for r in rows) / statements, 4)
        if statements
        else 0.0,
        "fields_from_facts_per_note": mean("fields_from_facts")
        if rows and "fields_from_facts" in rows[0]
        else None,
        "floor_empty_note_rouge1": mean("empty_rouge1"),
        "floor_lead_note_rouge1": mean("lead_rouge1"),
        "published_rouge1": ANCHORS,
    }


def _recall_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Fact recall per category and overall, pooled over cases (stated / eligible)."""
    totals = {c: [0, 0] for c in CATEGORIES}
    for row in rows:
        for cat, (hit, eligible) in row.get("fact_recall", {}).items():
            totals[cat][0] += hit
            totals[cat][1] += eligible
    hits, eligible = sum(t[0] for t in totals.values()), sum(t[1] for t in totals.values())
    return {
        "fact_recall": round(hits / eligible, 4) if eligible else None,
        "fact_recall_by_category": {
            c: {"stated": h, "eligible": e, "recall": round(h / e, 4) if e else None}
            for c, (h, e) in totals.items()
        },
    }


if __name__ == "__main__":
    sys.exit(main())
