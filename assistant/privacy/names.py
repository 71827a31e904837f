"""Names, organisations and places in any case, by word frequency and context rather than capitals.

spaCy's small model reads capital letters; a question typed in lower case ("moira okonkwo-baptiste")
gives it none. So: words rare in English (wordfreq's list, shipped in its wheel) are title-cased before
the NER model sees them, runs of rare words are private on their own, and a word after a title or a
kinship cue ("dr. desai", "my sister ruth") or before an organisation word ("riverside high school")
is private even when it is a common word.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

RARE_ZIPF = 3.0  # below this a word is rarer than about 1 in a million English words
UNCOMMON_ZIPF = 4.2  # after a title or kinship cue, anything less common than this is a name
ORG_NAME_ZIPF = 5.0  # before "school", "clinic": a word rarer than this names the place


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


WORD = re.compile(r"[A-Za-z][A-Za-z']*(?:-[A-Za-z][A-Za-z']*)*")
TITLES = _set(
    "dr doctor mr mrs ms mx miss prof professor nurse rev reverend judge officer coach pastor father"
    " sister brother aunt auntie uncle grandma grandpa nana papa cousin saint st captain sgt det"
)
KIN = _set(
    "husband wife partner spouse fiance fiancee sister brother mother mom mum father dad son daughter"
    " friend colleague coworker boss manager aunt uncle cousin niece nephew grandma grandpa grandmother"
    " grandfather grandson granddaughter neighbor neighbour doctor dentist therapist lawyer landlord"
    " teacher tutor nanny babysitter roommate girlfriend boyfriend stepson stepdaughter stepmother"
    " stepfather in-law sister-in-law brother-in-law mother-in-law father-in-law patient client"
)
POSSESSIVE = _set("my our his her their your")
PLACE_CUES = _set("in near from at to around outside")
NAMING = _set("named called nicknamed")
ORG_WORDS = _set(
    "school academy college university institute hospital clinic center centre practice pharmacy bank"
    " inc llc ltd corp corporation company co group partners associates foundation trust church temple"
    " mosque synagogue library elementary middle high kindergarten preschool daycare gym club society"
    " insurance labs laboratory studio cafe restaurant bakery market store shop salon garage dental"
    " medical health healthcare surgery county township village town city street avenue road lane"
    " drive court boulevard way place terrace circle parkway highway trail park"
)
STOP = _set(
    "a an the and or but if of to in on at by for with from about as into over after before than then"
    " is are was were be been being am do does did done have has had having i me my we us our you your"
    " he him his she her it its they them their this that these those what which who whom whose when"
    " where why how all any both each few more most other some such no nor not only own same so too"
    " very can will just should could would may might must shall s t don now new last next my please"
    " tell show find give remind send ask get got say said told"
)


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str


@functools.cache
def zipf(word: str) -> float:
    """English frequency of `word` on wordfreq's log scale (0 when unknown); cached per word."""
    try:
        from wordfreq import zipf_frequency
    except ImportError:
        return 8.0 if word.lower() in STOP else 0.0
    parts = [p for p in re.split(r"[-']", word.lower()) if p]
    return min((zipf_frequency(p, "en") for p in parts), default=8.0)


def rare(word: str) -> bool:
    return len(word) >= 3 and word.lower() not in STOP and zipf(word) < RARE_ZIPF


def recase(text: str) -> str:
    """Title-case rare words and lower-case shouted common ones, so the NER model can read the text.

    Same length as `text`, so spans found in the result are spans of `text`.
    """
    out = list(text)
    for m in WORD.finditer(text):
        w = m.group()
        if not (w.islower() or (w.isupper() and len(w) > 1)):
            continue
        if rare(w) or (w.isupper() and zipf(w) < UNCOMMON_ZIPF and w.lower() not in STOP):
            new = "-".join(p[:1].upper() + p[1:].lower() for p in w.split("-"))
        elif w.isupper():
            new = w.lower()
        else:
            continue
        if len(new) == len(w):
            out[m.start() : m.end()] = new
    return "".join(out)


def _words(text: str) -> list[re.Match[str]]:
    return list(WORD.finditer(text))


def find_names(text: str) -> list[Span]:
    """Rare-word runs, cued names and organisation names, in any case."""
    words = _words(text)
    low = [m.group().lower().strip("'") for m in words]
    spans: list[Span] = []
    i = 0
    while i < len(words):  # runs of rare words: the name nobody's dictionary knows
        j = i
        while j < len(words) and rare(low[j]) and _adjacent(text, words, i, j):
            j += 1
        if j > i:  # an uncommon word next to a rare one is part of the same name ("moira okonkwo")
            while i > 0 and _name_like(low[i - 1]) and _adjacent(text, words, i - 1, i):
                i -= 1
            while j < len(words) and _name_like(low[j]) and _adjacent(text, words, i, j):
                j += 1
            spans.append(Span(words[i].start(), words[j - 1].end(), "NAME"))
            i = j
        else:
            i += 1
    for i, w in enumerate(low):
        cue = w.rstrip(".") in TITLES or (w in KIN and i > 0 and low[i - 1] in POSSESSIVE) or w in NAMING
        if cue and i + 1 < len(words) and _adjacent(text, words, i, i + 1):
            j = i + 1
            while j < len(words) and j <= i + 3 and _name_like(low[j]) and _adjacent(text, words, i + 1, j):
                j += 1
            if j > i + 1:
                spans.append(Span(words[i + 1].start(), words[j - 1].end(), "PERSON"))
        if (
            w in PLACE_CUES
            and i + 1 < len(words)
            and _name_like(low[i + 1])
            and _adjacent(text, words, i, i + 1)
        ):
            j = i + 1
            if i + 2 < len(words) and _name_like(low[i + 2]) and _adjacent(text, words, i + 1, i + 2):
                j = i + 2
            spans.append(Span(words[i + 1].start(), words[j].end(), "LOCATION"))
        if w in ORG_WORDS and i > 0:
            j = i
            while j > 0 and j > i - 4 and low[j - 1] not in STOP:
                if not _adjacent(text, words, j - 1, j):
                    break
                j -= 1
            if j < i and any(zipf(low[k]) < ORG_NAME_ZIPF for k in range(j, i)):
                spans.append(Span(words[j].start(), words[i].end(), "ORG"))
    return spans


def _name_like(word: str) -> bool:
    return word not in STOP and word not in KIN and zipf(word) < UNCOMMON_ZIPF


def _adjacent(text: str, words: list[re.Match[str]], first: int, j: int) -> bool:
    """Word j continues the run begun at `first`: only spaces or a dot between it and the word before."""
    if j == first:
        return True
    gap = text[words[j - 1].end() : words[j].start()]
    return len(gap) <= 2 and all(c in " ." for c in gap)
