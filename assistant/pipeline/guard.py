"""The outbound guard: the last check before any byte leaves the device.

It refuses a body that contains a vault value (anything the sanitizer replaced in this conversation),
a user-declared private term, any run of 8 words from a record retrieved in this conversation, and, in
what the user side of the conversation says, any identifier-shaped run or any value of the private
vocabulary collected from the user's records, in any spelling (`assistant.privacy.normalize`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from assistant.errors import AssistantError
from assistant.privacy.identifiers import find_identifiers
from assistant.privacy.phrases import PhraseIndex

RUN_WORDS = 8
MIN_VALUE_CHARS = 3
WORD = re.compile(r"[^\W_]+")
NUMBER = re.compile(r"\d[\d \-./()]*\d")
PLACEHOLDER = re.compile(r"<\s*[A-Za-z]+(?:_[A-Za-z]+)*_\d+\s*>")


class OutboundRefused(AssistantError):
    """The guard found private content in an outbound body; nothing was sent."""


def _words(text: str) -> list[str]:
    return WORD.findall(text.casefold())


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _same_number(digits: str, value: str, groups: list[str]) -> bool:
    """An identifier written with other separators ("512 44 8731" for "512-44-8731") is the same value."""
    mostly_digits = len(digits) >= 6 and len(digits) >= len(value) // 2
    return mostly_digits and any(digits in g for g in groups)


def _texts(body: str) -> list[str]:
    """The body as sent and every string inside it, decoded (JSON escapes must not hide a value)."""
    out = [body]
    try:
        stack = [json.loads(body)]
    except ValueError:
        return out
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out


def _user_texts(body: str) -> list[str]:
    """What the user side says: every non-system message's content (the whole body if it is not a chat)."""
    try:
        messages = json.loads(body).get("messages")
    except (ValueError, AttributeError):
        messages = None
    if not isinstance(messages, list):
        return _texts(body)
    return [str(m.get("content", "")) for m in messages if isinstance(m, dict) and m.get("role") != "system"]


@dataclass
class OutboundGuard:
    """Collects what must never leave, and checks bodies against it."""

    values: set[str] = field(default_factory=set)
    runs: set[tuple[str, ...]] = field(default_factory=set)
    vocabulary: PhraseIndex = field(default_factory=PhraseIndex)
    _vault: PhraseIndex = field(default_factory=PhraseIndex, repr=False)  # values, matched as words

    def add_vocabulary(self, items: Iterable[tuple[str, str]]) -> None:
        """(value, kind) pairs from the user's records (assistant.privacy.vocabulary)."""
        self.vocabulary.update(items)

    def add_values(self, values: Iterable[str]) -> None:
        for v in values:
            v = " ".join(v.split())
            if len(v) >= MIN_VALUE_CHARS:
                self.values.add(v)
                self._vault.add(v, "VALUE")

    def add_records(self, texts: Iterable[str]) -> None:
        for text in texts:
            words = _words(text)
            self.runs.update(tuple(words[i : i + RUN_WORDS]) for i in range(len(words) - RUN_WORDS + 1))

    def check(self, body: str) -> None:
        """Raise OutboundRefused when `body` holds anything private; the message names the kind only."""
        for text in _user_texts(body):
            bare = PLACEHOLDER.sub(" ", text)
            if find_identifiers(bare):
                raise OutboundRefused(
                    "Refused to send: the request holds an identifier-shaped number or code.",
                    "Edit it out of the question, or ask with --no-remote.",
                )
            groups = [_digits(m.group(0)) for m in NUMBER.finditer(bare)]
            if self._vault.contains(bare) or any(_same_number(_digits(v), v, groups) for v in self.values):
                raise OutboundRefused(
                    "Refused to send: the request still contains a private value.",
                    "Edit it out of the question, or ask with --no-remote.",
                )
            if self.vocabulary.contains(bare):
                raise OutboundRefused(
                    "Refused to send: the request names something from your records.",
                    "Edit it out of the question, or ask with --no-remote.",
                )
        for text in _texts(body):
            words = _words(text)
            for i in range(len(words) - RUN_WORDS + 1):
                if tuple(words[i : i + RUN_WORDS]) in self.runs:
                    raise OutboundRefused(
                        f"Refused to send: the request contains {RUN_WORDS} words in a row from a record.",
                        "Rephrase the question without quoting the record, or ask with --no-remote.",
                    )
