"""One normalisation for the sanitizer, the guard and declared terms, so no spelling slips past one of them.

`clean` keeps the text readable for the recognizers (NFKC, invisible characters gone, look-alike
letters folded to ASCII); `key` is what values are compared by (clean, then case folded, accents
dropped, and hyphens, dots, underscores and spaces all one space). Both return, for each output
character, the index of the input character it came from, so a match maps back onto the question.
"""

from __future__ import annotations

import functools
import re
import unicodedata

SEPARATORS = frozenset(" \t\r\n\f\v._-\u00a0\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u00b7\u2027")
WORD = re.compile(r"[^\W_]+")


@functools.cache
def _confusables() -> dict[str, str]:
    """Non-ASCII letter -> its ASCII look-alike, from Unicode's confusables list (confusable-homoglyphs)."""
    try:
        from confusable_homoglyphs import utils
    except ImportError:  # the fold then covers NFKC and accents only
        return {}
    table: dict[str, str] = {}
    for char, entries in utils.load("confusables.json").items():
        if len(char) != 1 or ord(char) < 128:
            continue
        for entry in entries:
            c = entry.get("c", "")
            if len(c) == 1 and c.isascii() and c.isalnum():
                table[char] = c
                break
    return table


def _invisible(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat == "Cf" or (cat == "Mn" and "\ufe00" <= ch <= "\ufe0f") or ch == "\u034f"


@functools.cache
def _clean_char(ch: str) -> str:
    if _invisible(ch):
        return ""
    out = []
    for c in unicodedata.normalize("NFKC", ch):
        if c.isascii():
            out.append(c)
            continue
        folded = _confusables().get(c)
        if folded is None:
            base = "".join(x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x))
            folded = base if base.isascii() and base else c
        out.append(folded)
    return "".join(out)


def clean(text: str) -> tuple[str, list[int]]:
    """(cleaned text, source index of each of its characters)."""
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        for c in _clean_char(ch):
            chars.append(c)
            index.append(i)
    return "".join(chars), index


def key_with_index(text: str) -> tuple[str, list[int]]:
    """The comparison form of `text`, with the source index of each character."""
    cleaned, src = clean(text)
    chars: list[str] = []
    index: list[int] = []
    for c, i in zip(cleaned, src, strict=True):
        if c in SEPARATORS or c.isspace():
            if chars and chars[-1] != " ":
                chars.append(" ")
                index.append(i)
            continue
        for f in c.casefold():
            chars.append(f)
            index.append(i)
    while chars and chars[-1] == " ":
        chars.pop()
        index.pop()
    return "".join(chars), index


def key(text: str) -> str:
    """'Project‐Bluеbird' (Cyrillic е, a zero-width space anywhere) -> 'project bluebird'."""
    return key_with_index(text)[0]


def key_tokens(text: str) -> tuple[str, ...]:
    return tuple(WORD.findall(key(text)))
