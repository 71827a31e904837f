"""A set of private phrases matched on normalised words: any case, spacing, separator or look-alike."""

from __future__ import annotations

from collections.abc import Iterable

from assistant.privacy.normalize import WORD, key_tokens, key_with_index

MIN_CHARS = 3  # shorter values ("Al") would refuse ordinary words


class PhraseIndex:
    """Normalised word sequences -> kind; `find` returns their spans in the original text."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._phrases: dict[tuple[str, ...], str] = {}
        self._first: set[str] = set()
        self._compact: dict[str, str] = {}  # words run together: "projectbluebird", "529417730"
        self._longest = 0
        self.update(items)

    def __len__(self) -> int:
        return len(self._phrases)

    def update(self, items: Iterable[tuple[str, str]]) -> None:
        for value, kind in items:
            self.add(value, kind)

    def add(self, value: str, kind: str) -> None:
        words = key_tokens(value)
        if not words or len(" ".join(words)) < MIN_CHARS:
            return
        self._phrases.setdefault(words, kind)
        self._compact.setdefault("".join(words), kind)
        self._first.add(words[0])
        self._longest = max(self._longest, len(words))

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Non-overlapping (start, end, kind) in `text`, longest phrase first at each position."""
        if not self._phrases:
            return []
        folded, src = key_with_index(text)
        toks = [(m.start(), m.end(), m.group()) for m in WORD.finditer(folded)]
        out: list[tuple[int, int, str]] = []
        i = 0
        while i < len(toks):
            hit = 0
            for n in range(min(self._longest, len(toks) - i), 0, -1):
                words = tuple(t[2] for t in toks[i : i + n])
                kind = self._phrases.get(words) if words[0] in self._first else None
                kind = kind or self._compact.get("".join(words))
                if kind is not None:
                    out.append((src[toks[i][0]], src[toks[i + n - 1][1] - 1] + 1, kind))
                    hit = n
                    break
            i += hit or 1
        return out

    def contains(self, text: str) -> bool:
        return bool(self.find(text))
