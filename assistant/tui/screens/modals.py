"""Small modal dialogs: the one error dialog, confirm-before-send, a record, a path, a yes/no."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea


class ErrorModal(ModalScreen[None]):
    """Every error the user sees comes through here: a title and what to do next, no traceback."""

    BINDINGS = [Binding("escape,enter", "dismiss", "Close")]

    def __init__(self, title: str, next_step: str = "") -> None:
        super().__init__(classes="modal")
        self.error_title = title
        self.next_step = next_step

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog error-dialog"):
            yield Label("Something went wrong", classes="dialog-title")
            yield Static(self.error_title, id="error-title", markup=False)
            if self.next_step:
                yield Static(f"Next step: {self.next_step}", id="error-next", markup=False)
            yield Button("OK", variant="primary", id="ok")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)


class ConfirmSendModal(ModalScreen["str | None"]):
    """Shows exactly what would leave the device; the user may edit it, send it, or cancel."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "send", "Send")]
    AUTO_FOCUS = "#outbound-text"  # not a query in on_mount: that raced the compose under load

    def __init__(self, sanitized: str, remote_url: str | None) -> None:
        super().__init__(classes="modal")
        self.sanitized = sanitized
        self.remote_url = remote_url or "the remote planner"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog confirm-dialog"):
            yield Label("Send this to the remote planner?", classes="dialog-title")
            yield Static(
                f"Only the text below goes to {self.remote_url}. Edit it if you like; "
                "your records and the original question stay here.",
                markup=False,
            )
            yield TextArea(self.sanitized, id="outbound-text", soft_wrap=True)
            with Horizontal(classes="buttons"):
                yield Button("Send (Ctrl+S)", variant="warning", id="send")
                yield Button("Cancel (Esc)", id="cancel")

    def action_send(self) -> None:
        text = self.query_one(TextArea).text.strip()
        self.dismiss(text or None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "send":
            self.action_send()
        else:
            self.action_cancel()


class RecordModal(ModalScreen[None]):
    """One cited record, decrypted on this device."""

    BINDINGS = [Binding("escape", "dismiss", "Close")]

    def __init__(self, heading: str, text: str) -> None:
        super().__init__(classes="modal")
        self.heading = heading
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog record-dialog"):
            yield Label(self.heading, classes="dialog-title", markup=False)
            with VerticalScroll():
                yield Static(self.text, markup=False, id="record-text")
            yield Button("Close (Esc)", id="close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)


class PathModal(ModalScreen["Path | None"]):
    """Ask for a file or folder path (export destination, folder to index)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, prompt: str, default: str = "") -> None:
        super().__init__(classes="modal")
        self.prompt = prompt
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.prompt, classes="dialog-title", markup=False)
            yield Input(self.default, id="path-input")
            yield Static("Enter to accept, Esc to cancel.", classes="dim")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        self.dismiss(Path(value).expanduser() if value else None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class YesNoModal(ModalScreen[bool]):
    BINDINGS = [Binding("escape,n", "answer(False)", "No"), Binding("y", "answer(True)", "Yes")]

    def __init__(self, question: str) -> None:
        super().__init__(classes="modal")
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", variant="error", id="yes")
                yield Button("No (n)", id="no")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
