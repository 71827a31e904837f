"""Evidence for statements a model wrote: the transcript turns that share the most content words."""

from __future__ import annotations

import re

from assistant.notes.transcript import Transcript
from assistant.notes.vocab import word_set

_STOP = word_set(
    "the a an and or but of to in on at for with is are was were be been it this that he she they his "
    "her their him them patient reports states denies has have had do does did not no i you your my "
    "me we will would should can could also any some about as by from so if then there"
)
MIN_SHARED = 2


def _content(text: str) -> set[str]:
    return {w[:6] for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP and len(w) > 1}


def support_turns(statement: str, transcript: Transcript, most: int = 2) -> tuple[int, ...]:
    """Up to `most` turn numbers (from 1) sharing at least MIN_SHARED content words, best first."""
    words = _content(statement)
    scored = []
    for number, turn in enumerate(transcript.turns, 1):
        shared = len(words & _content(turn.text))
        if shared >= MIN_SHARED:
            scored.append((-shared, number))
    return tuple(sorted(n for _, n in sorted(scored)[:most]))
