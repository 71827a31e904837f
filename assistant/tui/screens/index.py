"""The index screen: add folders, see the indexer's progress (in a worker), see what is indexed, and
follow a folder (w): its changes are applied as they happen and listed here."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, ProgressBar, Static
from textual.worker import Worker, WorkerState

from assistant.errors import Cancelled
from assistant.tui.messages import ErrorRaised
from assistant.tui.screens.modals import PathModal

if TYPE_CHECKING:
    from assistant.core import AssistantCore


class IndexScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back / stop"),
        Binding("a", "add", "Add folder"),
        Binding("r", "refresh", "Refresh"),
        Binding("w", "watch", "Watch folder / stop"),
    ]
    APPLIED_LINES = 8  # the last batches shown

    def __init__(self, core: AssistantCore) -> None:
        super().__init__(id="index")
        self.core = core
        self._cancel: threading.Event | None = None
        self._stop_watch: threading.Event | None = None
        self.files: list[Any] = []
        self.applied: list[str] = []  # one line per batch the watcher applied, newest last

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Reading the index…", id="index-message", markup=False)
        yield ProgressBar(id="index-progress", show_eta=True)
        yield Static("", id="index-applied", markup=False)
        table: DataTable[str] = DataTable(id="index-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("path", "kind", "chunks", "indexed at")
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Index"
        self.sub_title = "records encrypted on this device"
        self.query_one(ProgressBar).display = False
        self.query_one("#index-applied").display = False
        self.action_refresh()

    @property
    def indexing(self) -> bool:
        return self._cancel is not None

    @property
    def watching(self) -> bool:
        return self._stop_watch is not None

    def action_refresh(self) -> None:
        self._list()

    @work(thread=True, exclusive=True, exit_on_error=False, group="index-list")
    def _list(self) -> list[Any]:
        return self.core.indexed_files()

    def action_add(self) -> None:
        if self.indexing or self.watching:
            self.notify("Already indexing: Esc stops it.", severity="warning")
            return

        def chosen(path: Path | None) -> None:
            if path is not None:
                self._start(str(path))

        self.app.push_screen(PathModal("Folder or file to index:", str(Path.home())), chosen)

    def _start(self, path: str) -> None:
        self._cancel = threading.Event()
        bar = self.query_one(ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self._say(f"Indexing {path}… (Esc stops; what is stored so far is kept)")
        self._index(path, self._cancel)

    @work(thread=True, exclusive=True, exit_on_error=False, group="index-run")
    def _index(self, path: str, cancel: threading.Event) -> Any:
        def progress(event: Any) -> None:
            self.app.call_from_thread(self._progress, event)

        return self.core.index([path], progress, cancel)

    def action_watch(self) -> None:
        if self._stop_watch is not None:
            self._stop_watch.set()
            self._say("Stopping the watcher…")
            return
        if self.indexing:
            self.notify("Already indexing: Esc stops it.", severity="warning")
            return

        def chosen(path: Path | None) -> None:
            if path is not None:
                self._stop_watch = threading.Event()
                self._say(f"Indexing {path}, then following its changes… (w or Esc stops)")
                self._watch(str(path), self._stop_watch)

        self.app.push_screen(PathModal("Folder to watch:", str(Path.home())), chosen)

    @work(thread=True, exclusive=True, exit_on_error=False, group="index-watch")
    def _watch(self, path: str, stop: threading.Event) -> int:
        def started(summary: Any) -> None:
            self.app.call_from_thread(self._applied, f"first pass: {summary.files_indexed} indexed", path)

        def applied(batch: Any) -> None:
            self.app.call_from_thread(self._applied, batch.line(), path)

        return int(self.core.watch([path], started, applied, stop))

    def _applied(self, line: str, path: str) -> None:
        self.applied = [*self.applied, line][-self.APPLIED_LINES :]
        panel = self.query_one("#index-applied", Static)
        panel.update("Applied:\n" + "\n".join(self.applied))
        panel.display = True
        self._say(f"Watching {path}: changes are applied as they happen (w or Esc stops).")
        self.action_refresh()

    def _progress(self, event: Any) -> None:
        self.query_one(ProgressBar).update(total=max(event.files_total, 1), progress=event.files_done)
        self._say(
            f"{event.files_done}/{event.files_total} files · {event.chunks_added} chunks · {event.path}"
        )

    def _say(self, text: str) -> None:
        self.query_one("#index-message", Static).update(text)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        group, state = event.worker.group, event.state
        if group == "index-list" and state == WorkerState.SUCCESS:
            self._fill(event.worker.result)
        elif group == "index-run" and state in (WorkerState.SUCCESS, WorkerState.ERROR):
            self._cancel = None
            self.query_one(ProgressBar).display = False
            if state == WorkerState.SUCCESS:
                s = event.worker.result
                self.notify(
                    f"Indexed {s.files_indexed} file(s), {s.chunks_added} chunk(s); "
                    f"{s.files_unchanged} unchanged, {len(s.skipped)} skipped."
                )
            elif isinstance(event.worker.error, Cancelled):
                self.notify("Indexing stopped; what was stored so far is kept.")
            else:
                self.post_message(ErrorRaised(event.worker.error))
            self.action_refresh()
        elif group == "index-watch" and state in (WorkerState.SUCCESS, WorkerState.ERROR):
            self._stop_watch = None
            if state == WorkerState.SUCCESS:
                self.notify(f"Stopped watching after {event.worker.result} batch(es).")
            else:
                self.app.show_error(event.worker.error)
            self.action_refresh()
        elif state == WorkerState.ERROR:
            self.post_message(ErrorRaised(event.worker.error))

    def _fill(self, files: list[Any]) -> None:
        self.files = files
        table = self.query_one(DataTable)
        table.clear()
        for f in files:
            table.add_row(f.path, f.source, str(f.chunks), f.indexed_at.replace("T", " ")[:16])
        chunks = sum(f.chunks for f in files)
        if not self.indexing and not self.watching:
            self._say(
                f"{len(files)} file(s), {chunks} chunk(s) indexed. Press a to add a folder."
                if files
                else "Nothing is indexed yet. Press a to add a folder of records."
            )

    def on_unmount(self) -> None:
        if self._stop_watch is not None:  # the app is closing: let the watcher thread end too
            self._stop_watch.set()

    def action_back(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self._say("Stopping…")
        elif self._stop_watch is not None:
            self.action_watch()
        else:
            self.dismiss(None)
