"""Saved conversations: resume, delete, export to Markdown. Decryption happens in a worker."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker, WorkerState

from assistant.conversations import Conversation
from assistant.tui.messages import ErrorRaised
from assistant.tui.screens.modals import PathModal, YesNoModal

if TYPE_CHECKING:
    from assistant.conversations import ConversationStore


class ConversationsScreen(Screen["Conversation | None"]):
    """Dismisses with the conversation to resume, or None."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Back"),
        Binding("enter", "resume", "Resume"),
        Binding("d,delete", "delete", "Delete"),
        Binding("e", "export", "Export .md"),
    ]

    def __init__(self, store: ConversationStore) -> None:
        super().__init__(id="conversations")
        self.store = store
        self.items: list[Conversation] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading…", id="conv-message", markup=False)
        table: DataTable[str] = DataTable(id="conv-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("updated", "turns", "title")
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Conversations"
        self.sub_title = "encrypted on this device"
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="list")
    def _load(self) -> tuple[list[Conversation], list[str]]:
        store = self.store
        items = store.list_all()
        return items, list(store.warnings)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "list":
            return
        if event.state == WorkerState.SUCCESS:
            self.items, warnings = event.worker.result
            self._fill()
            for warning in warnings:
                self.notify(warning, severity="warning")
        elif event.state == WorkerState.ERROR:
            self.post_message(ErrorRaised(event.worker.error))

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for conv in self.items:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(conv.updated))
            table.add_row(when, str(len(conv.turns)), conv.title or "(empty)", key=conv.id)
        message = self.query_one("#conv-message", Static)
        message.update(
            f"{len(self.items)} conversation(s). Enter resumes, d deletes, e exports to Markdown."
            if self.items
            else "No saved conversations yet. Esc goes back to the chat."
        )
        table.focus()

    def _current(self) -> Conversation | None:
        table = self.query_one(DataTable)
        if not self.items or table.cursor_row is None or table.cursor_row >= len(self.items):
            return None
        return self.items[table.cursor_row]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_resume()

    def action_resume(self) -> None:
        conv = self._current()
        if conv is not None:
            self.dismiss(conv)

    def action_delete(self) -> None:
        conv = self._current()
        if conv is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.store.delete(conv.id)
                self.items.remove(conv)
                self._fill()
                self.notify(f"Deleted “{conv.title}”.")

        self.app.push_screen(YesNoModal(f"Delete “{conv.title}” for good?"), answered)

    def action_export(self) -> None:
        conv = self._current()
        if conv is None:
            return
        default = str(Path.cwd() / f"conversation-{conv.id}.md")

        def chosen(path: Path | None) -> None:
            if path is None:
                return
            try:
                written = self.store.export_markdown(conv.id, path)
            except Exception as exc:  # noqa: BLE001 - shown in the one error dialog
                self.post_message(ErrorRaised(exc))
                return
            self.notify(f"Exported to {written} (in clear: it is your copy).")

        self.app.push_screen(PathModal("Export to Markdown file:", default), chosen)
