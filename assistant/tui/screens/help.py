"""Keybindings and what the panels mean."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# Keys

| key | does |
|---|---|
| Enter | send the question |
| ↑ / ↓ | earlier questions (input history) |
| Esc | stop the answer; your question goes back in the prompt |
| Ctrl+N | new conversation |
| Ctrl+O | saved conversations: resume, delete (d), export to Markdown (e) |
| F3 | index: add folders of records, watch progress, see what is indexed |
| F4 | clinical note: paste or open a visit transcript (Ctrl+O), write the note (Ctrl+G), save (Ctrl+S) |
| F2 | settings: local model, remote planner, sanitizer strictness |
| F1 | this help |
| Ctrl+P | command palette |
| Ctrl+Q | quit |

# Panels

**Privacy** shows, for the selected answer, what the sanitizer found and replaced, and every request
that left this device, byte for byte. "Nothing left this device" means the plan, the search and the
answer all ran here. With a remote planner, you confirm the sanitized text before the first send.

**Sources** lists the records the answer used, with scores and paths. Enter on a row, or a click on
a citation such as [1] in the answer, opens the record (decrypted here, never sent anywhere).

Click an answer to show its panels. Conversations are saved encrypted in the data directory.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def __init__(self) -> None:
        super().__init__(id="help", classes="modal")

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help-dialog"):
            yield Markdown(HELP)
