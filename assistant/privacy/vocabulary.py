"""The private vocabulary: what the user's own records say is private, kept sealed on the device.

At index time each document's people, organisations, places, identifiers, e-mail addresses and rare
proper nouns are collected under the document's key; forgetting the document drops them. The whole
vocabulary is one AES-GCM blob in the data dir (`Keyring.seal`), never in clear on disk. The sanitizer
masks any of these values in a question and the outbound guard refuses a body that still holds one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from assistant.datadir import replace_private
from assistant.errors import StoreError
from assistant.privacy.identifiers import find_identifiers
from assistant.privacy.names import STOP, UNCOMMON_ZIPF, WORD, rare, zipf
from assistant.privacy.phrases import PhraseIndex
from encrypted_store.errors import TamperError

FILENAME = "vocabulary.sealed"
AAD = b"private-assistant/vocabulary/v1"
NER_KINDS = {"PERSON": "PERSON", "ORG": "ORG", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION"}
NER_KINDS |= {"PRODUCT": "PRODUCT"}
EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+")
COMMON_ZIPF = 4.5  # a one-word entity this common ("Patient", "Summary") names nothing


class SealingKeyring(Protocol):
    def seal(self, data: bytes, aad: bytes) -> bytes: ...

    def open(self, blob: bytes, aad: bytes) -> bytes: ...


def _spacy() -> Any:
    from assistant.pipeline.sanitizer import spacy_pipeline

    return spacy_pipeline()


def collect(text: str) -> set[tuple[str, str]]:
    """(value, kind) pairs worth keeping private from one document's text."""
    found: set[tuple[str, str]] = set()
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    for doc in _spacy().pipe(paragraphs, batch_size=32):
        for ent in doc.ents:
            kind = NER_KINDS.get(ent.label_)
            value = ent.text.strip(" .,;:'\"()").removesuffix("'s")
            words = [w.lower() for w in WORD.findall(value)]
            if kind is None or not words or not value[:1].isupper():
                continue  # records are written with capitals: a lower-case "entity" is a tagging slip
            if len(words) == 1 and (zipf(words[0]) >= COMMON_ZIPF or words[0] in STOP) and kind != "PERSON":
                continue  # one common word ("Patient", "Summary") names nothing
            found.add((value, kind))
            if kind == "PERSON":  # each uncommon part of a name on its own ("my sister ruth")
                found.update((w, "PERSON") for w in words if len(w) >= 3 and zipf(w) < UNCOMMON_ZIPF)
        for tok in doc:
            if tok.pos_ == "PROPN" and tok.text[:1].isupper() and tok.is_alpha and rare(tok.text):
                found.add((tok.text, "NAME"))
    found.update((m.group(), "EMAIL") for m in EMAIL.finditer(text))
    found.update((text[f.start : f.end], f.kind) for f in find_identifiers(text))
    return found


class PrivateVocabulary:
    """Per-document private values, sealed at `home/vocabulary.sealed`."""

    def __init__(self, home: Path, keyring: SealingKeyring, docs: dict[str, list[list[str]]] | None = None):
        self.path = Path(home) / FILENAME
        self._keyring = keyring
        self.docs: dict[str, list[list[str]]] = docs or {}
        self.dirty = False

    @classmethod
    def load(cls, home: Path, keyring: SealingKeyring) -> PrivateVocabulary:
        """The sealed vocabulary of `home` (empty when nothing was indexed yet).

        Raises:
            StoreError: the file was altered or sealed with other keys.
        """
        path = Path(home) / FILENAME
        if not path.exists():
            return cls(home, keyring)
        try:
            data = json.loads(keyring.open(path.read_bytes(), AAD))
        except TamperError as exc:
            raise StoreError(
                f"The private vocabulary ({path}) cannot be read: {exc.message}",
                f"Delete {path} and run `assistant index` on your folders again to rebuild it.",
            ) from exc
        return cls(home, keyring, {str(k): list(v) for k, v in data.get("docs", {}).items()})

    def update_documents(self, documents: Iterable[tuple[str, str]]) -> None:
        """(doc key, text): each document's values replace what it contributed before; then saved."""
        for doc, text in documents:
            self.docs[doc] = sorted([v, k] for v, k in collect(text))
            self.dirty = True
        self.save()

    def forget_documents(self, docs: Iterable[str]) -> None:
        """Drop what these documents contributed (the vocabulary shrinks); then saved."""
        for doc in docs:
            if self.docs.pop(doc, None) is not None:
                self.dirty = True
        self.save()

    def items(self) -> set[tuple[str, str]]:
        return {(v, k) for values in self.docs.values() for v, k in values}

    def values(self) -> set[str]:
        return {v for v, _ in self.items()}

    def index(self) -> PhraseIndex:
        return PhraseIndex(sorted(self.items()))

    def save(self) -> None:
        """Seal and write atomically (mode 0600); a no-op when nothing changed."""
        if not self.dirty:
            return
        blob = self._keyring.seal(json.dumps({"version": 1, "docs": self.docs}).encode(), AAD)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        replace_private(self.path, blob)
        self.dirty = False
