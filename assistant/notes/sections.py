"""The note's fixed structure: extraction fields, ACI-BENCH headings, the SOAP mapping, and prompts.

The model only ever fills lists of short statements inside this structure, so a weak model cannot
break it: headings, order and empty-section markers come from here, not from generated text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

NoteFormat = Literal["aci", "soap"]
EMPTY_MARKER = "None documented."


@dataclass(frozen=True)
class Field:
    """One thing the model extracts from each chunk of the conversation."""

    key: str
    question: str
    max_items: int  # ceiling per chunk; the CLI's --max-items can lower it
    merge_limit: int  # statements kept after merging all chunks


FIELDS: tuple[Field, ...] = (
    Field(
        "chief_complaint",
        "What is the main reason for this visit? Give a short phrase.",
        1,
        1,
    ),
    Field(
        "history_of_present_illness",
        "List the patient's history of the present illness: symptoms, when they started, "
        "medical history and current medications.",
        4,
        10,
    ),
    Field(
        "review_of_systems",
        "List the symptoms the patient reports or denies when asked about other body systems.",
        3,
        6,
    ),
    Field(
        "physical_exam",
        "List the findings the doctor reports from examining the patient today.",
        3,
        6,
    ),
    Field(
        "results",
        "List the results of tests, labs or imaging that are mentioned.",
        2,
        4,
    ),
    Field("assessment", "List the doctor's diagnoses or impressions.", 2, 4),
    Field(
        "plan",
        "List the doctor's plan: medications with doses, tests, referrals and follow-up.",
        4,
        8,
    ),
)
FIELD_KEYS: tuple[str, ...] = tuple(f.key for f in FIELDS)

# heading -> extraction fields, in the order ACI-BENCH reference notes use
ACI_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("CHIEF COMPLAINT", ("chief_complaint",)),
    ("HISTORY OF PRESENT ILLNESS", ("history_of_present_illness",)),
    ("REVIEW OF SYSTEMS", ("review_of_systems",)),
    ("PHYSICAL EXAM", ("physical_exam",)),
    ("RESULTS", ("results",)),
    ("ASSESSMENT AND PLAN", ("assessment", "plan")),
)
SOAP_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SUBJECTIVE", ("chief_complaint", "history_of_present_illness", "review_of_systems")),
    ("OBJECTIVE", ("physical_exam", "results")),
    ("ASSESSMENT", ("assessment",)),
    ("PLAN", ("plan",)),
)
PROSE_FIELDS = frozenset({"chief_complaint", "history_of_present_illness"})


def layout(fmt: NoteFormat) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return SOAP_SECTIONS if fmt == "soap" else ACI_SECTIONS


def json_key(heading: str) -> str:
    """`--json` field name for a heading: "ASSESSMENT AND PLAN" -> "assessment_and_plan"."""
    return heading.lower().replace(" ", "_")


SYSTEM_PROMPT = (
    "You are a medical scribe. You read a doctor-patient conversation and write parts of the "
    "clinical note. Use only facts said in the conversation; never invent doses, numbers or "
    "findings. Write short, complete statements in the third person. If nothing was said, "
    "return an empty list."
)


def user_prompt(conversation: str, question: str, part: str) -> str:
    """The conversation first and the question last, so one chunk's calls share a cached prefix."""
    return f"Conversation{part}:\n{conversation}\n\n{question}"


def field_schema(max_items: int, max_chars: int) -> dict[str, Any]:
    """A bounded list of short statements: the grammar itself cannot run past the token budget."""
    return {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": {"type": "string", "minLength": 3, "maxLength": max_chars},
                "maxItems": max_items,
            }
        },
        "required": ["items"],
        "additionalProperties": False,
    }


def worst_case_tokens(max_items: int, max_chars: int) -> int:
    """Tokens the schema's longest possible output can take (one token per character at worst)."""
    return 16 + max_items * (max_chars + 4)
