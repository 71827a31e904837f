"""First and second person to clinical third person: "i feel tired" -> "He feels tired".

Simple, general rules (pronouns, the verb right after the subject); anything the rules cannot turn is
left as said, which is still a true statement of what was said.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from assistant.notes.transcript import Transcript
from assistant.notes.vocab import word_set

_MODALS = word_set("can could will would should might must may shall did was had")
_ADVERBS = word_set(
    "just really also still never always usually sometimes actually definitely only even probably "
    "mostly finally already recently often generally kind sort"
)
_IRREGULAR = {"have": "has", "do": "does", "go": "goes", "am": "is", "'m": "is", "are": "is", "'ve": "has"}
_PAST = word_set(
    "quit had felt got took went came saw fell hurt put cut hit ran began thought told said left lost "
    "broke woke made gave kept slept ate drank found became brought bought heard knew wore sat stood "
    "tore threw"
)
_PLURAL_IRREGULAR = {"am": "are", "was": "were", "'m": "are"}


@dataclass(frozen=True)
class Person:
    subject: str  # he / she / they
    possessive: str
    object: str

    @property
    def singular(self) -> bool:
        return self.subject != "they"


def infer_person(transcript: Transcript) -> Person:
    """He or she when the doctor's words make it clear; they otherwise."""
    counts: Counter[str] = Counter()
    said = " ".join(t.text.lower() for t in transcript.turns if t.speaker != "patient")
    stated = re.search(r"\b\d+[- ]year[- ]old (male|man|gentleman|boy|female|woman|lady|girl)\b", said)
    if stated:
        male = stated.group(1) in ("male", "man", "gentleman", "boy")
        return Person("he", "his", "him") if male else Person("she", "her", "her")
    for turn in transcript.turns:
        if turn.speaker == "patient":
            continue
        for w in re.findall(r"[a-z]+", turn.text.lower()):
            if w in ("he", "his", "him", "male", "man", "gentleman", "mr"):
                counts["m"] += 1
            elif w in ("she", "her", "hers", "female", "woman", "lady", "mrs", "ms"):
                counts["f"] += 1
    if counts["m"] > 2 * counts["f"] and counts["m"] >= 2:
        return Person("he", "his", "him")
    if counts["f"] > 2 * counts["m"] and counts["f"] >= 2:
        return Person("she", "her", "her")
    return Person("they", "their", "them")


def _verb(word: str, person: Person) -> str:
    if not person.singular:
        return _PLURAL_IRREGULAR.get(word, word)
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word == "don't":
        return "doesn't"
    if word in _MODALS or word in _PAST or word.endswith(("ed", "n't")) or not word.isalpha():
        return word
    if word.endswith(("s", "sh", "ch", "x", "z", "o")):
        return word + "es"
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def third_person(text: str, person: Person, speaker: str) -> str:
    """Rewrite one tidy sentence said by `speaker` about the patient in the third person."""
    words = text.split()
    out: list[str] = []
    first = "i" if speaker == "patient" else "you"
    i = 0
    while i < len(words):
        raw = words[i]
        core = raw.rstrip(",.?!;:")
        tail = raw[len(core) :]
        low = core.lower()
        if speaker == "patient" and low in ("i'm", "i've", "i'll", "i'd"):
            verb = {"i'm": "am", "i've": "have", "i'll": "will", "i'd": "would"}[low]
            out.append(person.subject + " " + _verb(verb, person) + tail)
        elif speaker != "patient" and low in ("you're", "you've", "you'll", "you'd"):
            verb = {"you're": "are", "you've": "have", "you'll": "will", "you'd": "would"}[low]
            out.append(person.subject + " " + _verb(verb, person) + tail)
        elif low == first:
            nxt_word = words[i + 1].lower().rstrip(",.?!;:") if i + 1 < len(words) else ""
            prev_word = out[-1].lower().rstrip(",.?!;:") if out else ""
            subject = speaker == "patient" or (
                nxt_word not in _OBJECT_NEXT and prev_word not in _OBJECT_PREV and not tail
            )
            if subject and not tail and i + 1 < len(words):
                out.append(person.subject + tail)
                j = i + 1
                while j < len(words) and words[j].lower() in _ADVERBS:
                    out.append(words[j])
                    j += 1
                if j < len(words):
                    nxt = words[j].rstrip(",.?!;:")
                    out.append(_verb(nxt.lower(), person) + words[j][len(nxt) :])
                    i = j
            else:
                out.append(person.object + tail)
        elif low in ("my", "your") and (low == "my") == (speaker == "patient"):
            out.append(person.possessive + tail)
        elif low in ("me", "myself") and speaker == "patient":
            out.append((person.object if low == "me" else person.object + "self") + tail)
        elif low == "yourself" and speaker != "patient":
            out.append(person.object + "self" + tail)
        elif low == "i":
            out.append("I" + tail)
        else:
            out.append(raw)
        i += 1
    text = " ".join(out)
    return text[:1].upper() + text[1:] if text else text


_OBJECT_NEXT = word_set(
    "to on in a an the some back up know about for with at out off over down into again that this any "
    "more less all"
)
_OBJECT_PREV = word_set(
    "help let tell give see ask want get make send call refer put keep check examine for to with at on "
    "about from of by thank bring take have need like show remind encourage advise start prescribe "
    "schedule follow"
)
_CLAUSE = word_set("and but so that if when because since or then while as")
