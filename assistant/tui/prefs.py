"""What the settings screen changes: small, non-private choices kept in the data dir as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Literal

ConfirmMode = Literal["first", "always", "never"]
STRICTNESS = ("strict", "relaxed")  # relaxed: dates generalized (e.g. "March 2024"), not removed
CONFIRM_MODES: tuple[ConfirmMode, ...] = ("first", "always", "never")
FILENAME = "tui-prefs.json"


@dataclass
class Prefs:
    """UI choices only: never a question, an answer or a private term."""

    model: str | None = None  # None = ASSISTANT_MODEL or the registry's default
    use_remote: bool = True  # only matters when a remote is configured
    strictness: str = "strict"
    confirm_send: ConfirmMode = "first"
    remote_confirmed: bool = False  # the user has approved a remote send once

    @property
    def generalize(self) -> bool:
        return self.strictness == "relaxed"

    def needs_confirm(self) -> bool:
        if self.confirm_send == "always":
            return True
        return self.confirm_send == "first" and not self.remote_confirmed

    @classmethod
    def load(cls, home: Path) -> Prefs:
        """Read the saved choices; a missing or unreadable file gives the defaults."""
        try:
            data = json.loads((home / FILENAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        known = {f.name for f in fields(cls)}
        prefs = cls(**{k: v for k, v in data.items() if k in known})
        if prefs.strictness not in STRICTNESS:
            prefs.strictness = "strict"
        if prefs.confirm_send not in CONFIRM_MODES:
            prefs.confirm_send = "first"
        return prefs

    def save(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        (home / FILENAME).write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
