"""Deterministic recognizers for the identifiers spaCy's NER does not know (SSN, MRN, accounts, ...).

Each is a Presidio `EntityRecognizer` over one regular expression; `group` picks the part of the match
that is private (the number after "account", the date after "born on"), so the label stays readable.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from presidio_analyzer import EntityRecognizer, RecognizerResult

MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
DATE = (
    rf"(?:{MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|\d{{1,2}}\s+{MONTH}\.?,?\s+\d{{4}}"
    r"|\d{1,2}/\d{1,2}/\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.\d{4})"
)
STREET = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Court|Ct|Boulevard|Blvd|Way|Place|Pl|Terrace"
    r"|Circle|Parkway|Square|Sq|Highway|Hwy)"
)
CAP = r"[A-Z][a-zA-Z'\-]+"
RELATION = (
    r"(?:husband|wife|partner|sister|brother|mother|mom|father|dad|son|daughter|friend|colleague|boss"
    r"|aunt|uncle|cousin|niece|nephew|grandma|grandpa|grandmother|grandfather|neighbou?r|doctor)"
)

# (entity, pattern, group, score); order does not matter, overlaps are resolved by the sanitizer
PATTERNS: list[tuple[str, str, int, float]] = [
    ("SSN", r"\b(\d{3}-\d{2}-\d{4})\b", 1, 0.9),
    (
        "SSN",
        r"(?i)\b(?:ssn|social security(?: number| no\.?)?)\s*(?:is|:|#)?\s*(\d{3}[ -]?\d{2}[ -]?\d{4})\b",
        1,
        0.95,
    ),
    ("SSN", r"\b(\d{3} \d{2} \d{4})\b", 1, 0.7),
    ("MRN", r"(?i)\b(MRN\s*[:#]?\s*\d{5,10})\b", 1, 0.95),
    ("MRN", r"(?i)\bmedical record (?:number|no\.?|#)\s*[:#]?\s*(\d{5,10})\b", 1, 0.95),
    ("DOB", rf"(?i)\b(?:DOB|D\.O\.B\.|date of birth|born(?: on)?)\s*(?:is|:)?\s*({DATE})", 1, 0.95),
    ("DATE", rf"\b({DATE})\b", 1, 0.6),
    ("DATE", rf"\b({MONTH}\s+\d{{4}})\b", 1, 0.5),
    ("CREDIT_CARD", r"\b(\d{4}[ -]\d{4}[ -]\d{4}[ -]\d{4}|\d{16})\b", 1, 0.9),
    ("ACCOUNT", r"\b(\d{4}-\d{4}-\d{4})\b", 1, 0.85),
    (
        "ACCOUNT",
        r"(?i)\b(?:account|acct\.?)(?:\s+(?:no\.?|number|#))?\s*(?:is|:|#)?\s*(\d[\d-]{5,20}\d)\b",
        1,
        0.9,
    ),
    ("ACCOUNT", r"\b(\d{9,19})\b", 1, 0.6),
    ("POLICY", r"\b([A-Z]{1,4}\d{0,2}(?:-\d{3,}){1,3})\b", 1, 0.8),
    ("POLICY", r"\b([A-Z]{1,3}\d{7,12})\b", 1, 0.8),
    ("PHONE", r"(?<![\w-])((?:\+1[\s.-]?)?(?:\(\d{3}\)|\d{3})[\s.-]?\d{3}[\s.-]\d{4})\b", 1, 0.85),
    ("EMAIL", r"\b([\w.+%-]+@[\w-]+(?:\.[\w-]+)+)\b", 1, 0.95),
    ("URL", r"(?i)\b((?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)])", 1, 0.9),
    ("IP", r"\b((?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3})\b", 1, 0.9),
    ("IP", r"(?i)\b((?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4})\b", 1, 0.9),
    (
        "ADDRESS",
        rf"\b(\d{{1,5}}\s+(?:{CAP}\s+){{1,3}}{STREET}\b\.?(?:,?\s+(?:Apt|Unit|Suite)\.?\s*\w+)?"
        rf"(?:,\s*{CAP}(?:\s+{CAP})?)?(?:,\s*[A-Z]{{2}})?(?:\s+\d{{5}}(?:-\d{{4}})?)?)",
        1,
        0.85,
    ),
    ("PERSON", rf"\b(?:Dr|Mr|Mrs|Ms|Mx|Prof|Nurse)\.?\s+({CAP}(?:\s+{CAP}){{0,2}})", 1, 0.85),
    ("PERSON", rf"\b(?:[Mm]y|[Hh]er|[Hh]is|[Oo]ur)\s+{RELATION}\s+({CAP}(?:\s+{CAP})?)", 1, 0.85),
    ("PERSON", rf"(?m)^(?:From|To|Cc|Attn|Signed|Sincerely|Love|Best|Regards),?:?\s+({CAP}\s+{CAP})", 1, 0.8),
]

NOT_NAMES = frozenset(
    [
        "The",
        "A",
        "An",
        "I",
        "We",
        "You",
        "He",
        "She",
        "They",
        "It",
        "This",
        "That",
        "My",
        "Your",
        "Our",
        "Their",
        "Please",
        "Dear",
        "Hi",
        "Hello",
        "Thanks",
        "Calendar",
        "Subject",
        "From",
        "To",
        "Patient",
        "Summary",
        "Visit",
        "Lab",
        "Note",
        "Reminder",
    ]
)


class RegexRecognizer(EntityRecognizer):
    """One pattern; reports the span of `group`."""

    def __init__(self, entity: str, pattern: str, group: int, score: float) -> None:
        self._regex = re.compile(pattern)
        self._group = group
        self._score = score
        super().__init__(supported_entities=[entity], name=f"{entity}:{pattern[:24]}")

    def load(self) -> None:
        """Nothing to load: the regex is compiled in __init__."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        entity = self.supported_entities[0]
        out = []
        for m in self._regex.finditer(text):
            start, end = m.span(self._group)
            value = m.group(self._group)
            if entity == "PERSON" and value.split()[0] in NOT_NAMES:
                continue
            if entity == "EMAIL" and not _valid_domain(value.rsplit("@", 1)[-1]):
                continue
            out.append(RecognizerResult(entity, start, end, self._score))
        return out


@functools.cache
def _tld_extractor() -> Any:
    """tldextract with its bundled suffix list only: it must never reach the network (FINDINGS.md)."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def _valid_domain(domain: str) -> bool:
    return bool(_tld_extractor()(domain).suffix)


ORG_WORDS = frozenset(
    [
        "Center",
        "Centre",
        "Clinic",
        "Hospital",
        "Practice",
        "Associates",
        "Bank",
        "Inc",
        "Corp",
        "Company",
        "Co",
        "LLC",
        "Ltd",
        "School",
        "College",
        "University",
        "Library",
        "Stadium",
        "Care",
        "Dental",
        "Health",
        "Healthcare",
        "Insurance",
        "Foods",
        "Market",
        "Cafe",
        "Gym",
        "Conservatory",
        "Society",
        "Club",
        "Church",
        "Street",
        "Avenue",
        "Road",
        "Lane",
        "Trail",
        "Park",
        "Reservation",
        "PPO",
        "HMO",
        "Plan",
        "Group",
        "Partners",
        "Auto",
        "Roofing",
        "Department",
        "Office",
        "Pharmacy",
        "Lab",
        "Labs",
        "Institute",
        "Foundation",
        "Fund",
        "Trust",
        "Team",
        "Project",
    ]
)
NOT_NAME_WORDS = NOT_NAMES | frozenset(
    MONTH.replace("(?:", "").replace(")?", "").replace("|", " ").replace("?", "").split()
    + [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Remind",
        "Insurance",
        "Send",
        "Forward",
        "Text",
        "Ask",
        "Tell",
        "Call",
        "Date",
        "Birth",
        "Referring",
    ]
)


class ProperNounRecognizer(EntityRecognizer):
    """Names spaCy small mislabels: runs of 2-3 capitalized proper nouns that look like no organization.

    spaCy small often tags an unfamiliar "First Last" as ORG or leaves it untagged; a run like that is
    far more often a person in personal records, and over-redaction only costs the planner a word.
    """

    def __init__(self) -> None:
        super().__init__(supported_entities=["PERSON", "LOCATION"], name="ProperNounRuns")

    def load(self) -> None:
        """Uses the spaCy tokens Presidio already computed."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        if nlp_artifacts is None or nlp_artifacts.tokens is None:
            return []
        doc = nlp_artifacts.tokens
        out: list[RecognizerResult] = []
        run: list[Any] = []
        for tok in [*doc, None]:
            if tok is not None and tok.pos_ == "PROPN" and tok.text.istitle() and tok.text.isalpha():
                run.append(tok)
                continue
            while run and run[0].text in NOT_NAME_WORDS:  # "Remind Rashid Dubois": the verb is no name
                run = run[1:]
            while run and run[-1].text in NOT_NAME_WORDS:
                run = run[:-1]
            words = [t.text for t in run]
            if 2 <= len(run) <= 3 and not (set(words) & (ORG_WORDS | NOT_NAME_WORDS)):
                out.append(RecognizerResult("PERSON", run[0].idx, run[-1].idx + len(run[-1]), 0.5))
            elif len(run) == 1 and _looks_like_place(doc, run[0]):
                out.append(RecognizerResult("LOCATION", run[0].idx, run[0].idx + len(run[0]), 0.4))
            run = []
        return out


def _looks_like_place(doc: Any, tok: Any) -> bool:
    """A lone proper noun after "in/to/from/near" that spaCy did not call a person: a town, usually."""
    after_preposition = tok.i > 0 and doc[tok.i - 1].lower_ in ("in", "to", "from", "near")
    known = tok.text in ORG_WORDS or tok.text in NOT_NAME_WORDS
    return after_preposition and not known and tok.ent_type_ in ("", "ORG", "GPE")


def custom_recognizers() -> list[EntityRecognizer]:
    return [RegexRecognizer(*p) for p in PATTERNS] + [ProperNounRecognizer()]
