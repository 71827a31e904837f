"""Identifier-shaped text is private by default.

A run of digit-bearing tokens joined by spaces, dots, dashes, slashes or brackets is an identifier when
it holds three or more digits or mixes letters and digits in one token (VINs, plates, policy numbers,
postcodes), whatever its country. Checksummed numbers get a precise type from well-kept validators
(`phonenumbers`, `python-stdnum`); everything else is `ID`. Only clearly non-identifying quantities
pass: a number with a unit ("50 mg", "3 weeks", "$1,200"), a bare year, an ordinal, a clock time.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

# a number followed by one of these is a quantity, not an identifier
UNITS = (
    "mg|mcg|µg|ug|g|gr|grams?|kg|kgs|kilos?|lbs?|pounds?|oz|ounces?|ml|mls|cc|l|liters?|litres?|iu|units?"
    "|mmhg|bpm|mmol|mg/dl|miu/l|mm|cm|m|km|mi|miles?|ft|feet|foot|inch(?:es)?|in|meters?|metres?|°[cf]?"
    "|degrees?|%|percent|pct|kcal|cal|calories|steps|reps|sets|pills?|tablets?|tabs?|capsules?|doses?"
    "|drops?|puffs?|times|x|sec|secs|seconds?|mins?|minutes?|h|hrs?|hours?|days?|nights?|weeks?|wks?"
    "|months?|mos?|years?|yrs?|yo|k|gb|mb|tb|kb|ghz|mhz|w|kw|kwh|v|dollars?|usd|eur|euros?|gbp|cents?"
    "|people|persons|kids|children|pages|words|points|pts"
)
# a token with a digit; a run joins such tokens with one to three separators (never a newline)
TOKEN = r"[A-Za-z]*\d[A-Za-z0-9]*(?:,\d{3})*"
# a short capital group between two number groups belongs to the run ("KA 05 MN 4412"), unless a unit
INFIX = rf"(?:(?!(?i:{UNITS})\b)[A-Z]{{1,3}}[ \t.\-/]{{1,2}})?"
RUN = re.compile(
    rf"(?<![A-Za-z0-9])(?:[A-Za-z]{{1,4}}[-./])?\+?{TOKEN}"
    rf"(?:[ \t.\-/()]{{1,3}}{INFIX}(?:[A-Za-z]{{1,4}}[-./](?=\d))?{TOKEN})*"
    r"(?:-[A-Za-z]{1,3})?(?![A-Za-z0-9])"
)
STREET = (
    r"(?:street|st|avenue|ave|road|rd|lane|ln|drive|dr|court|ct|boulevard|blvd|way|place|pl|terrace"
    r"|circle|cir|parkway|pkwy|highway|hwy|close|crescent|gardens|row|strasse|straße|rue|via|calle)"
)
ADDRESS = re.compile(
    rf"(?i)(?<![A-Za-z0-9])\d{{1,6}}[a-z]?,?[ \t]+(?:[a-z'.-]+[ \t]+){{1,3}}{STREET}\b\.?"
    r"(?:,?[ \t]*(?:apt|unit|suite|flat|#)\.?[ \t]*[a-z0-9-]+)?"
    r"(?:,[ \t]*(?:[a-z'-]+[ \t]){0,2}[a-z'-]+)?(?:,?[ \t]+[a-z]{2}\b)?(?:,?[ \t]+\d{5}(?:-\d{4})?)?"
)
PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN", "AU")
IBAN = re.compile(
    r"(?i)(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?(?![A-Za-z0-9])"
)
QUANTITY_AFTER = re.compile(rf"(?i)^\s?(?:{UNITS})(?![A-Za-z0-9])")
ATTACHED_UNIT = re.compile(rf"(?i)^\d+(?:[.,]\d+)?(?:{UNITS})$")
NUMBER = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$|^\d+(?:\.\d+)?$")
EXEMPT_TOKEN = re.compile(r"(?i)^(?:\d{1,3}(?:st|nd|rd|th)|\d{1,2}(?:am|pm)|(?:19|20)\d{2}s?)$")
CURRENCY = "$€£¥₹"


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    kind: str


def _digits(text: str) -> int:
    return sum(c.isdigit() for c in text)


def _compact(text: str) -> str:
    return "".join(c for c in text if c.isalnum()).upper()


def _exempt(text: str, value: str, start: int, end: int) -> bool:
    """A quantity, year, ordinal or time: nothing that tells whose records these are."""
    if EXEMPT_TOKEN.match(value) or ATTACHED_UNIT.match(value):
        return True
    before = text[max(0, start - 1) : start]
    quantity = bool(before and before in CURRENCY) or bool(QUANTITY_AFTER.match(text[end:]))
    return bool(NUMBER.match(value)) and quantity


def _plain_count(value: str) -> bool:
    """Fewer than three digits and no token mixing letters with digits: '2', '6.8', '10 4'."""
    mixed = any(
        any(c.isdigit() for c in t) and any(c.isalpha() for c in t) for t in re.split(r"[^A-Za-z0-9]+", value)
    )
    return _digits(value) < 3 and not mixed


@functools.cache
def _national() -> list[tuple[str, Any]]:
    try:
        from stdnum import luhn
        from stdnum.br import cpf
        from stdnum.ca import sin
        from stdnum.es import dni
        from stdnum.fr import nir
        from stdnum.gb import nhs
        from stdnum.in_ import aadhaar
        from stdnum.it import codicefiscale
        from stdnum.nl import bsn
    except ImportError:
        return []
    return [
        ("CREDIT_CARD", lambda c: 13 <= len(c) <= 19 and c.isdigit() and c[0] in "3456" and luhn.is_valid(c)),
        ("NATIONAL_ID", aadhaar.is_valid),
        ("NATIONAL_ID", cpf.is_valid),
        ("NATIONAL_ID", nir.is_valid),
        ("NATIONAL_ID", dni.is_valid),
        ("NATIONAL_ID", codicefiscale.is_valid),
        ("NATIONAL_ID", nhs.is_valid),
        ("NATIONAL_ID", sin.is_valid),
        ("NATIONAL_ID", bsn.is_valid),
    ]


DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})")


def _kind(value: str) -> str:
    if DATE.fullmatch(value):
        return "DATE"  # still private; named so the sanitizer can generalise it to its month
    if re.fullmatch(r"\d{3}[-. ]\d{2}[-. ]\d{4}", value):
        return "SSN"
    compact = _compact(value)
    for kind, valid in _national():
        try:
            if valid(compact):
                return kind
        except Exception:  # noqa: BLE001 - a validator's own error means "not this type"
            continue
    return "ID"


def _phones(text: str) -> list[Found]:
    """Numbers `phonenumbers` accepts as valid in some country (international ones in any region)."""
    try:
        import phonenumbers
    except ImportError:
        return []
    found: dict[tuple[int, int], Found] = {}
    for region in PHONE_REGIONS:
        for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
            found.setdefault((m.start, m.end), Found(m.start, m.end, "PHONE"))
    return list(found.values())


def _ibans(text: str) -> list[Found]:
    out = []
    for m in IBAN.finditer(text):
        try:
            from stdnum import iban

            kind = "IBAN" if iban.is_valid(m.group()) else ""
        except ImportError:
            kind = ""
        if kind or (_digits(m.group()) >= 8):
            out.append(Found(m.start(), m.end(), "IBAN"))
    return out


def find_identifiers(text: str) -> list[Found]:
    """Identifier spans in `text` (overlaps possible: typed matches and generic runs both reported)."""
    found = _ibans(text) + (_phones(text) if _digits(text) >= 7 else [])
    found += [Found(m.start(), m.end(), "ADDRESS") for m in ADDRESS.finditer(text)]
    for m in RUN.finditer(text):
        start, end = m.span()
        value = m.group().rstrip(".-/( ")
        end = start + len(value)
        while value and value[0] in "(.-/ ":
            value, start = value[1:], start + 1
        if not value or _plain_count(value) or _exempt(text, value, start, end):
            continue
        found.append(Found(start, end, _kind(value)))
    return found


def has_identifier(text: str) -> bool:
    return bool(find_identifiers(text))
