"""Medical-note mode (headless): transcript -> structured clinical note, on the device only."""

from assistant.notes.extract import ExtractOptions
from assistant.notes.grounding import Flag, check_note
from assistant.notes.note import ClinicalNote, generate_note
from assistant.notes.transcript import Transcript, Turn, parse_transcript, read_transcript

__all__ = [
    "ClinicalNote",
    "ExtractOptions",
    "Flag",
    "Transcript",
    "Turn",
    "check_note",
    "generate_note",
    "parse_transcript",
    "read_transcript",
]
