"""Settings: which local model answers, whether the remote planner is used, sanitizer strictness."""

from __future__ import annotations

from dataclasses import replace

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select, Static, Switch

from assistant.tui.prefs import CONFIRM_MODES, STRICTNESS, Prefs
from models import catalog

AUTO = "__auto__"
CONFIRM_LABELS = {
    "first": "before the first remote send",
    "always": "before every remote send",
    "never": "never (not recommended)",
}


def model_choices(current: str | None) -> list[tuple[str, str]]:
    """The registry's models plus the bundled demo one; `current` is kept if it is a custom path."""
    names = [m.name for m in catalog.CATALOG] + [catalog.BUNDLED_NAME]
    if current and current not in names:
        names.append(current)
    return [("automatic (best installed)", AUTO)] + [(n, n) for n in names]


class SettingsScreen(ModalScreen["Prefs | None"]):
    """Dismisses with the new preferences, or None when cancelled."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("ctrl+s", "save", "Save")]

    def __init__(self, prefs: Prefs, *, remote_url: str | None) -> None:
        super().__init__(id="settings", classes="modal")
        self.prefs = prefs
        self.remote_url = remote_url

    def compose(self) -> ComposeResult:
        p = self.prefs
        with Vertical(classes="dialog settings-dialog"):
            yield Label("Settings", classes="dialog-title")
            yield Label("Local model (answers and, without a remote, plans)")
            yield Select(model_choices(p.model), value=p.model or AUTO, allow_blank=False, id="model")
            with Horizontal(classes="row"):
                yield Switch(value=p.use_remote and bool(self.remote_url), id="remote")
                yield Label("Use the remote planner (sanitized question only)")
            yield Static(
                f"Remote: {self.remote_url}"
                if self.remote_url
                else "No remote configured (set ASSISTANT_REMOTE_URL): everything stays on this device.",
                classes="dim",
                markup=False,
            )
            yield Label("Sanitizer strictness")
            yield Select([(s, s) for s in STRICTNESS], value=p.strictness, allow_blank=False, id="strictness")
            yield Label("Confirm the sanitized text")
            yield Select(
                [(CONFIRM_LABELS[m], m) for m in CONFIRM_MODES],
                value=p.confirm_send,
                allow_blank=False,
                id="confirm",
            )
            with Horizontal(classes="buttons"):
                yield Button("Save (Ctrl+S)", variant="primary", id="save")
                yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#remote", Switch).disabled = not self.remote_url

    def action_save(self) -> None:
        model = self.query_one("#model", Select).value
        prefs = replace(
            self.prefs,
            model=None if model == AUTO else str(model),
            use_remote=self.query_one("#remote", Switch).value if self.remote_url else self.prefs.use_remote,
            strictness=str(self.query_one("#strictness", Select).value),
            confirm_send=self.query_one("#confirm", Select).value,  # type: ignore[arg-type]
        )
        self.dismiss(prefs)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.dismiss(None)
