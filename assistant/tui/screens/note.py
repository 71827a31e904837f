"""The note screen: paste or open a visit transcript, get a structured clinical note (local model only)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Markdown, OptionList, Static, TextArea
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from assistant.tui.messages import ErrorRaised
from assistant.tui.screens.modals import PathModal

if TYPE_CHECKING:
    from assistant.core import AssistantCore

HINT = "Paste a transcript on the left ([doctor]/[patient] tags, Doctor:/Patient:, or plain text)."
NO_EVIDENCE = "No transcript turn found for this statement: check it against the conversation."


def evidence_text(turns: tuple[int, ...], transcript_turns: list[str]) -> str:
    """The turns a statement rests on, quoted, for the evidence panel."""
    if not turns:
        return NO_EVIDENCE
    return "\n".join(f"Turn {t}: {transcript_turns[t - 1]}" for t in turns if t <= len(transcript_turns))


class NoteScreen(Screen[None]):
    """Nothing here touches the network: the note comes from the local model and the transcript alone."""

    DEFAULT_CSS = """
    #note-side { width: 1fr; }
    #note-side #note-output { height: 1fr; }
    #note-statements { height: 12; border: round $primary-darken-2; }
    #note-evidence { height: auto; max-height: 8; padding: 0 1; color: $text-muted; }
    """

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+t", "evidence", "Evidence"),
        Binding("ctrl+g", "generate", "Write note"),
        Binding("ctrl+o", "open", "Open file"),
        Binding("ctrl+s", "save", "Save note"),
    ]

    def __init__(self, core: AssistantCore) -> None:
        super().__init__(id="note")
        self.core = core
        self.note_markdown = ""
        self.flags = 0
        self.statements: list[tuple[str, str]] = []  # (statement, its evidence), in note order

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(HINT + " Ctrl+G writes the note.", id="note-message", markup=False)
        with Horizontal(id="note-main"):
            yield TextArea(id="transcript", soft_wrap=True)
            with Vertical(id="note-side"):
                with VerticalScroll(id="note-output"):
                    yield Markdown("_The note appears here._", id="note-markdown", open_links=False)
                yield OptionList(id="note-statements")
                yield Static(
                    "Select a statement (Ctrl+T) to see what was said.", id="note-evidence", markup=False
                )
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Clinical note"
        self.sub_title = "on this device only"
        self.query_one(TextArea).focus()

    @property
    def writing(self) -> bool:
        return any(w.group == "note" and w.is_running for w in self.workers)

    def _say(self, text: str) -> None:
        self.query_one("#note-message", Static).update(text)

    def action_generate(self) -> None:
        if self.writing:
            return
        self._say("Writing the note with the local model…")
        self._write(self.query_one(TextArea).text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="note")
    def _write(self, text: str) -> tuple[str, int, float, list[tuple[str, str]]]:
        from assistant.notes import parse_transcript
        from assistant.notes.render import to_markdown
        from assistant.notes.sections import FIELD_KEYS

        transcript = parse_transcript(text)  # InputError on an empty transcript

        def progress(index: int, total: int) -> None:
            if total > 1:
                self.app.call_from_thread(self._say, f"Long transcript: part {index} of {total}…")

        note = self.core.note(transcript, progress=progress)  # the core blocks the network meanwhile
        turns = [t.render() for t in transcript.turns]
        statements = [
            (statement, evidence_text(note.turns_for(key, i), turns))
            for key in FIELD_KEYS
            for i, statement in enumerate(note.fields[key])
        ]
        return to_markdown(note), len(note.flags), note.seconds, statements

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "note" and event.state == WorkerState.SUCCESS:
            self.note_markdown, self.flags, seconds, self.statements = worker.result
            self.query_one("#note-markdown", Markdown).update(self.note_markdown)
            options = self.query_one("#note-statements", OptionList)
            options.clear_options()
            options.add_options([Option(text) for text, _ in self.statements])
            checked = (
                f"{self.flags} statement(s) flagged by the grounding check: verify them."
                if self.flags
                else "Every statement was found in the transcript."
            )
            self._say(f"Note written in {seconds:.0f} s. {checked} Ctrl+S saves it.")
        elif worker.group == "open" and event.state == WorkerState.SUCCESS:
            self.query_one(TextArea).text = worker.result
            self._say("Transcript loaded. Ctrl+G writes the note.")
        elif event.state == WorkerState.ERROR:
            self._say(HINT)
            self.post_message(ErrorRaised(worker.error))

    def action_evidence(self) -> None:
        options = self.query_one("#note-statements", OptionList)
        if not self.statements:
            self.notify("Write a note first (Ctrl+G).", severity="warning")
            return
        options.focus()
        if options.highlighted is None:
            options.highlighted = 0

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_evidence(event.option_index)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._show_evidence(event.option_index)

    def _show_evidence(self, index: int) -> None:
        if 0 <= index < len(self.statements):
            self.query_one("#note-evidence", Static).update(self.statements[index][1])

    @property
    def evidence_shown(self) -> str:
        return str(self.query_one("#note-evidence", Static).render())

    def action_open(self) -> None:
        def chosen(path: Path | None) -> None:
            if path is not None:
                self._open(str(path))

        self.app.push_screen(PathModal("Transcript file to open:", str(Path.cwd())), chosen)

    @work(thread=True, exit_on_error=False, group="open")
    def _open(self, path: str) -> str:
        from assistant.notes import read_transcript

        return read_transcript(path).text  # InputError: missing, binary, empty or oversized

    def action_save(self) -> None:
        if not self.note_markdown:
            self.notify("Write a note first (Ctrl+G).", severity="warning")
            return

        def chosen(path: Path | None) -> None:
            if path is None:
                return
            try:
                path.write_text(self.note_markdown, encoding="utf-8")
            except OSError as exc:
                self.post_message(ErrorRaised(exc))
                return
            self.notify(f"Note saved to {path} (in clear: it is your copy).")

        self.app.push_screen(PathModal("Save the note (Markdown) to:", str(Path.cwd() / "note.md")), chosen)

    def action_back(self) -> None:
        if self.writing:
            self.notify("The note is being written; it cannot be stopped midway.", severity="warning")
            return
        self.dismiss(None)
