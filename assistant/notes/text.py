"""Transcript text helpers for the fact extractor: tidy speech, split sentences, number words to digits.

ACI-BENCH-style transcripts are lower case with spaced punctuation ("i do n't , um , know ."); the
extractor and the writer see one tidy form. Nothing here drops a clinical word: only fillers go.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.notes.grounding import _number_words
from assistant.notes.transcript import Transcript
from assistant.notes.vocab import word_set

_FILLERS = re.compile(
    r"(?:,\s*)?\b(?:um+|uh+|uhm|hmm+|mm-?hmm|uh-huh|you know|i mean|kinda|sorta|like,)\b[,]?\s*",
    re.IGNORECASE,
)
_SPACED = re.compile(r"\s+([,.?!;:%])")
_SPLIT = re.compile(r"(?<=[.?!])\s+")
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[a-z]+(?:['-][a-z]+)*|\S")
_COUNTED = word_set(
    "mg milligram milligrams mcg microgram micrograms unit units gram grams ml tablet tablets pill "
    "pills puff puffs capsule capsules day days week weeks month months year years hour hours time "
    "times minute minutes pound pounds drink drinks pack packs cigarette cigarettes"
)
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+(?:\.\d+)?|[^\sa-z\d]", re.IGNORECASE)
_CONTRACTIONS = (("do n't", "don't"), ("ca n't", "can't"), ("wo n't", "won't"), (" n't", "n't"))
_NUMBER_WORDS = (r"zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
                 r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
                 r"eighty|ninety")  # fmt: skip
_NUMBERISH = re.compile(r"\b(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                        r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|"
                        r"forty|fifty|sixty|seventy|eighty|ninety|hundred)\b")  # fmt: skip


@dataclass(frozen=True)
class Sentence:
    """One sentence of one turn; `turn` is the 1-based turn number the evidence links cite."""

    turn: int
    speaker: str
    text: str  # tidy, number words as digits
    index: int  # position within the turn

    @property
    def question(self) -> bool:
        return self.text.endswith("?")


def digits(text: str) -> str:
    """Spoken numbers as digits: "twenty five milligrams" -> "25 milligrams"; a lone "one" stays a word
    unless a unit or time word follows it ("one tablet", "one week")."""
    if not _NUMBERISH.search(text.lower()):
        return text
    text = re.sub(rf"\b({_NUMBER_WORDS})-({_NUMBER_WORDS})\b", r"\1 \2", text.lower())
    tokens = _TOKEN.findall(text)
    out: list[str] = []
    i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and (
            _NUMBERISH.fullmatch(tokens[j]) or (j > i and tokens[j] in ("and", "point", "thousand"))
        ):
            j += 1
        while j > i and tokens[j - 1] in ("and", "point"):
            j -= 1
        if j == i:
            out.append(tokens[i])
            i += 1
            continue
        converted = _number_words(tokens[i:j])
        if len(converted) == 2 and len(converted[0]) == 1 and len(converted[1]) == 2:
            converted = [converted[0] + converted[1]]  # "one thirty eight" -> 138
        lone_one = tokens[i:j] == ["one"] and (j >= len(tokens) or tokens[j] not in _COUNTED)
        out.extend(tokens[i:j] if lone_one else converted)
        i = j
    return _SPACED.sub(r"\1", " ".join(out))


def tidy(text: str) -> str:
    """Fillers out, punctuation attached, contractions joined, number words as digits."""
    for spaced, joined in _CONTRACTIONS:
        text = text.replace(spaced, joined)
    text = _SPACED.sub(r"\1", text)
    text = _FILLERS.sub(" ", text)
    text = _SPACED.sub(r"\1", text)
    text = re.sub(r"(\w) (')(\w)", r"\1\2\3", text)  # "it 's" -> "it's"
    text = re.sub(r"([,.])(?:\s*[,.])+", r"\1", text)
    text = re.sub(r"\b(\w+)(?:,? \1\b)+", r"\1", text)  # stutters: "i, i" -> "i"
    return digits(" ".join(text.split())).strip(" ,")


def sentences(transcript: Transcript) -> list[Sentence]:
    """Every sentence of every turn, tidied, with its turn number (from 1)."""
    out: list[Sentence] = []
    for number, turn in enumerate(transcript.turns, 1):
        parts = [p.strip(" ,") for p in _SPLIT.split(tidy(turn.text)) if p.strip(" ,.")]
        out.extend(Sentence(number, turn.speaker, p, i) for i, p in enumerate(parts))
    return out


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]
