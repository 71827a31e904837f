"""Side panels for the selected turn: what the sanitizer did and what left the device; the sources."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from assistant.conversations import Turn
from assistant.pipeline.types import Source

NOTHING_LEFT = "✔ Nothing left this device."


class PrivacyPanel(VerticalScroll):
    """Replacements, planner, and every outbound request byte for byte."""

    def compose(self) -> ComposeResult:
        yield Static("Ask a question to see what it shares.", id="privacy-body", markup=False)

    def show(self, turn: Turn | None) -> None:
        self.query_one("#privacy-body", Static).update(render_privacy(turn))


def render_privacy(turn: Turn | None) -> Text:
    """The panel's text; kept as a function so the CLI-free tests can read it too."""
    out = Text()
    if turn is None:
        out.append("Ask a question to see what it shares.", style="dim")
        return out
    if turn.left_device:
        out.append(f"⚠ {len(turn.outbound)} request(s) left this device.\n", style="bold yellow")
    else:
        out.append(NOTHING_LEFT + "\n", style="bold green")
        out.append("The plan, the search and the answer all ran here.\n", style="dim")
    out.append("\nDetected and replaced\n", style="bold")
    if turn.replacements:
        for placeholder, kind in turn.replacements:
            out.append(f"  {placeholder}", style="cyan")
            out.append(f"  ({kind})\n")
    else:
        out.append("  nothing\n", style="dim")
    if turn.sanitized is not None and turn.sanitized != turn.question:
        out.append("\nSanitized question\n", style="bold")
        out.append(f"  {turn.sanitized}\n")
    out.append("\nPlanner\n", style="bold")
    out.append("  remote model (sanitized question only)\n" if turn.plan.remote else "  on this device\n")
    if turn.plan.notice:
        out.append(f"  {turn.plan.notice}\n", style="yellow")
    for n, sent in enumerate(turn.outbound, 1):
        out.append(f"\nRequest {n}: POST {sent.url}\n", style="bold")
        out.append(sent.body + "\n")  # exactly as sent: no reformatting
        reply = turn.replies[n - 1] if n <= len(turn.replies) else ""
        if reply:
            out.append(f"\nReply {n}\n", style="bold")
            out.append(str(reply) + "\n")
    for notice in turn.notices:
        out.append(f"\n{notice}\n", style="yellow")
    return out


class SourcesPanel(VerticalScroll):
    """Retrieved records with scores and paths; Enter or a click opens the record."""

    class Open(Message):
        def __init__(self, number: int) -> None:
            super().__init__()
            self.number = number  # 1-based, as cited in the answer

    def compose(self) -> ComposeResult:
        table: DataTable[str] = DataTable(id="sources-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("#", "score", "path", "where", "snippet")
        yield table
        yield Static("", id="sources-empty", markup=False)
        yield Static("", id="sources-evidence", markup=False)

    def show(self, turn: Turn | None) -> None:
        table = self.query_one(DataTable)
        table.clear()
        empty = self.query_one("#sources-empty", Static)
        sources = turn.sources if turn else []
        for n, src in enumerate(sources, 1):
            snippet = " ".join(src.snippet.split())
            table.add_row(str(n), f"{src.score:.2f}", src.path, src.where, snippet[:80], key=str(n))
        empty.update("" if sources else "No records were used for this answer.")
        empty.display = not sources
        shown = self.query_one("#sources-evidence", Static)
        shown.update(render_evidence(sources))
        shown.display = any(src.evidence for src in sources)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.Open(int(event.row_key.value)))


def render_evidence(sources: list[Source]) -> Text:
    """The sentences of each cited record that support the answer (chosen on the device)."""
    out = Text()
    for n, src in enumerate(sources, 1):
        if src.evidence:
            out.append(f"[{n}] {src.path or src.id}\n", style="bold")
            for sentence in src.evidence:
                out.append(f"  > {sentence}\n")
    if out.plain:
        out = Text("Evidence\n", style="bold") + out
    return out
