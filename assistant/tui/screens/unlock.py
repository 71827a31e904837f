"""The first screen: the passphrase unlocks the keys (or creates them on first run).

Key derivation is deliberately slow (Argon2), so it runs in a thread worker; a wrong passphrase is
shown in place and the user tries again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static
from textual.worker import Worker, WorkerState

from assistant.errors import AuthError, InputError, translate
from assistant.tui.messages import ErrorRaised

if TYPE_CHECKING:
    from assistant.config import Settings

MIN_PASSPHRASE = 8


class UnlockScreen(Screen[Any]):
    """Dismisses with the unlocked keyring."""

    def __init__(self, settings: Settings, *, create: bool) -> None:
        super().__init__(id="unlock")
        self.settings = settings
        self.create = create

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="unlock-box", classes="dialog"):
            yield Label("Private assistant", classes="dialog-title")
            if self.create:
                yield Static(
                    "Choose a passphrase. It encrypts your records and conversations on this device; "
                    "it cannot be recovered if you lose it.",
                    markup=False,
                )
                yield Input(placeholder="new passphrase", password=True, id="passphrase")
                yield Input(placeholder="repeat it", password=True, id="repeat")
            else:
                yield Static("Enter your passphrase to unlock your records.", markup=False)
                yield Input(placeholder="passphrase", password=True, id="passphrase")
            yield Static("", id="unlock-message", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#passphrase", Input).focus()

    def _say(self, text: str, *, error: bool = False) -> None:
        message = self.query_one("#unlock-message", Static)
        message.update(text)
        message.set_class(error, "error")

    @on(Input.Submitted)
    def submit(self, event: Input.Submitted) -> None:
        passphrase = self.query_one("#passphrase", Input).value
        if self.create and event.input.id == "passphrase":
            self.query_one("#repeat", Input).focus()
            return
        if not passphrase:
            self._say("Type your passphrase, then Enter.", error=True)
            return
        if self.create:
            if len(passphrase) < MIN_PASSPHRASE:
                self._say(f"Use at least {MIN_PASSPHRASE} characters.", error=True)
                return
            if passphrase != self.query_one("#repeat", Input).value:
                self._say("The two passphrases differ. Type them again.", error=True)
                self.query_one("#repeat", Input).value = ""
                return
        for box in self.query(Input):
            box.disabled = True
        self._say("Creating keys…" if self.create else "Unlocking…")
        self._unlock(passphrase)

    @work(thread=True, exclusive=True, exit_on_error=False, group="unlock")
    def _unlock(self, passphrase: str) -> Any:
        from assistant import core

        return core.unlock(self.settings, passphrase, create=self.create)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "unlock":
            return
        if event.state == WorkerState.SUCCESS:
            self.dismiss(event.worker.result)
        elif event.state == WorkerState.ERROR:
            for box in self.query(Input):
                box.disabled = False
                box.value = ""
            self.query_one("#passphrase", Input).focus()
            raw = event.worker.error
            error = (translate(raw) or raw) if raw is not None else None
            if isinstance(error, (AuthError, InputError)):
                self._say(f"{error.title} Try again.", error=True)
                self.notify(error.title, severity="error")
            else:
                self._say("")
                self.post_message(ErrorRaised(error))
