"""`assistant note`: a visit transcript in, a structured clinical note out; never touches the network."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from assistant.cli.output import note as notice
from assistant.config import load_settings
from assistant.core import AssistantCore
from assistant.datadir import write_private
from assistant.errors import InputError
from assistant.notes.extract import ExtractOptions
from assistant.notes.offline import network_blocked
from assistant.notes.render import to_json, to_markdown
from assistant.notes.transcript import read_transcript
from models.catalog import BUNDLED_NOTE


def _write_private(path: Path, text: str) -> None:
    """Write the note readable by the owner only: it is health information."""
    try:
        write_private(path, text.encode("utf-8"))
    except OSError as exc:
        raise InputError(f"Cannot write {path}: {exc.strerror}.", "Choose another -o path.") from exc


@click.command()
@click.argument("file", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: sections as fields, flags.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["aci", "soap"]),
    default="aci",
    show_default=True,
    help="aci: ACI-BENCH headings; soap: Subjective/Objective/Assessment/Plan.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the note here.")
@click.option("--max-items", default=4, show_default=True, help="Most statements per section and chunk.")
@click.option("--max-chars", default=160, show_default=True, help="Longest statement, in characters.")
@click.option(
    "--chunk-tokens", default=3072, show_default=True, help="Transcript tokens per chunk (long visits)."
)
@click.option("--seed", default=0, show_default=True, help="Sampling seed, for reproducible notes.")
@click.option(
    "--evidence",
    is_flag=True,
    help="Markdown: footnote each statement with the transcript turns it rests on.",
)
def note(
    file: str,
    as_json: bool,
    fmt: str,
    output: Path | None,
    max_items: int,
    max_chars: int,
    chunk_tokens: int,
    seed: int,
    evidence: bool,
) -> None:
    """Write a clinical note from the visit transcript in FILE (`-` reads standard input).

    Transcripts may use [doctor]/[patient] tags, Doctor:/Patient: prefixes, or plain text. Statements
    whose numbers, doses, medications or findings are not in the transcript are flagged; --json gives
    each statement's transcript turns, --evidence adds them as footnotes. Runs on the
    local model only: no remote planner, no network, even when ASSISTANT_REMOTE_URL is set.

    Example: assistant note visit.txt --format soap -o visit-note.md
    """
    options = ExtractOptions(max_items=max_items, max_chars=max_chars, chunk_tokens=chunk_tokens, seed=seed)
    transcript = read_transcript(file)
    with network_blocked():
        settings = load_settings()
        core = AssistantCore(settings)
        try:
            if core.ensure_ready().demo_quality:
                notice(BUNDLED_NOTE)

            def progress(index: int, total: int) -> None:
                if total > 1:
                    notice(f"long transcript: part {index} of {total}")

            result = core.note(transcript, options, progress=progress)
        finally:
            core.close()
    note_format = "soap" if fmt == "soap" else "aci"
    if as_json:
        text = json.dumps(to_json(result, note_format), ensure_ascii=False, indent=2) + "\n"
    else:
        text = to_markdown(result, note_format, evidence=evidence, transcript=transcript)
    if output is not None:
        _write_private(output, text)
        notice(f"note written to {output}")
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if result.flags:
        notice(f"grounding check: {len(result.flags)} statement(s) flagged; verify them before use")
