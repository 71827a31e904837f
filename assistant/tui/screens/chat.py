"""The chat screen: questions in, answers streamed out, privacy and sources for each turn beside them.

The pipeline runs in a thread worker; every event it yields comes back as a `TurnEvent` message, so
the UI thread never blocks and events are handled in order.
"""

from __future__ import annotations

import concurrent.futures
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Markdown, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from assistant.conversations import Conversation, Turn
from assistant.errors import Cancelled
from assistant.pipeline.events import Done, Event, Notice, PlanReady, Sanitized, SourcesReady, Stage
from assistant.tui.screens.modals import ConfirmSendModal, RecordModal
from assistant.tui.widgets.panels import PrivacyPanel, SourcesPanel
from assistant.tui.widgets.prompt import PromptInput
from assistant.tui.widgets.turns import AnswerView, QuestionView
from models.base import CancelToken, TokenDelta

if TYPE_CHECKING:
    from assistant.tui.app import AssistantApp


class TurnEvent(Message):
    """One pipeline event for the turn being answered."""

    def __init__(self, event: Event, replies: list[str] | None = None) -> None:
        super().__init__()
        self.event = event
        self.replies = replies or []  # with Done: the remote's replies, read from the ledger


class ChatScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "stop", "Stop", show=True),
        Binding("ctrl+n", "new_conversation", "New chat"),
        Binding("ctrl+o", "app.conversations", "Conversations"),
        Binding("f3", "app.index", "Index"),
        Binding("f4", "app.note", "Note"),
        Binding("f2", "app.settings", "Settings"),
        Binding("f1", "app.help", "Help"),
        Binding("ctrl+l", "focus_prompt", "Prompt", show=False),
    ]

    app: AssistantApp

    def __init__(self) -> None:
        super().__init__(id="chat")
        self.conversation = Conversation()
        self.selected: int | None = None
        self._turn: Turn | None = None
        self._view: AnswerView | None = None
        self._cancel: CancelToken | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Horizontal(id="main"):
            yield VerticalScroll(id="log")
            with TabbedContent(id="side"):
                with TabPane("Privacy", id="tab-privacy"):
                    yield PrivacyPanel(id="privacy")
                with TabPane("Sources", id="tab-sources"):
                    yield SourcesPanel(id="sources")
        yield Static("", id="statusbar", markup=False)
        yield PromptInput(id="prompt")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Private assistant"
        self.refresh_status()
        self.query_one(PromptInput).focus()

    @property
    def busy(self) -> bool:
        return self._turn is not None

    def refresh_status(self) -> None:
        backend = self.app.backend
        prefs = self.app.prefs
        if backend.remote_available:
            remote = "remote planner: on" if prefs.use_remote else "remote planner: off (local only)"
        else:
            remote = "no remote configured: everything stays on this device"
        demo = " (demo quality)" if backend.demo_quality else ""
        self.query_one("#statusbar", Static).update(f"model: {backend.model_name}{demo} · {remote}")
        self.sub_title = self.conversation.title or "new conversation"

    # --- asking -------------------------------------------------------------------------------

    @on(PromptInput.Submitted)
    async def ask(self, event: PromptInput.Submitted) -> None:
        question = event.value.strip()
        if not question:
            return
        if self.busy:
            self.notify("Still answering: press Esc to stop it first.", severity="warning")
            return
        prompt = self.query_one(PromptInput)
        prompt.remember(question)
        prompt.value = ""
        self._turn = Turn(question=question)
        self._cancel = CancelToken()
        index = len(self.conversation.turns)
        self._view = AnswerView(index)
        log = self.query_one("#log", VerticalScroll)
        await log.mount_all([QuestionView(question), self._view])
        log.scroll_end(animate=False)
        self._select(None)
        self._run_turn(question, self._cancel)

    @work(thread=True, exclusive=True, exit_on_error=False, group="ask")
    def _run_turn(self, question: str, cancel: CancelToken) -> None:
        use_remote = self.app.prefs.use_remote and self.app.backend.remote_available
        events = self.app.backend.ask(
            question,
            use_remote=use_remote,
            cancel=cancel,
            confirm=lambda text: self._confirm(text, cancel),
        )
        for event in events:
            replies = None
            if isinstance(event, Done) and event.answer.outbound:
                replies = self.app.backend.replies_for(event.answer.outbound)
            self.post_message(TurnEvent(event, replies))

    def _confirm(self, sanitized: str, cancel: CancelToken) -> str | None:
        """Called by the pipeline in the worker thread before anything leaves the device."""
        prefs = self.app.prefs
        if not prefs.needs_confirm():
            return sanitized
        answer: concurrent.futures.Future[str | None] = concurrent.futures.Future()
        modal = ConfirmSendModal(sanitized, self.app.backend.settings.remote_url)
        self.app.call_from_thread(self.app.push_screen, modal, answer.set_result)
        while True:
            try:
                result = answer.result(timeout=0.1)
                break
            except concurrent.futures.TimeoutError:
                if cancel.cancelled:
                    return None
        if result is not None and not prefs.remote_confirmed:
            prefs.remote_confirmed = True
            self.app.call_from_thread(self.app.save_prefs)
        return result

    async def on_turn_event(self, message: TurnEvent) -> None:
        turn, view, event = self._turn, self._view, message.event
        if turn is None or view is None:
            return
        if isinstance(event, TokenDelta):
            if event.text:
                log = self.query_one("#log", VerticalScroll)
                follow = log.scroll_y >= log.max_scroll_y - 1  # the user has not scrolled up
                await view.write(event.text)
                if follow:
                    log.scroll_end(animate=False)
        elif isinstance(event, Sanitized):
            turn.sanitized = event.text
            turn.replacements = list(event.replacements)
        elif isinstance(event, Stage):
            view.set_status(event.label())
        elif isinstance(event, PlanReady):
            turn.plan = event.plan
            view.set_status("searching your records…")
        elif isinstance(event, SourcesReady):
            turn.sources = list(event.sources)
        elif isinstance(event, Notice):
            turn.notices.append(event.text)
            self.notify(event.text, severity="warning" if event.level == "warning" else "information")
        elif isinstance(event, Done):
            turn.apply_answer(event.answer)
            turn.replies = message.replies
            if not turn.answer:
                turn.answer = view.streamed_text.strip()
            await self._finish(turn, view)

    async def _finish(self, turn: Turn, view: AnswerView) -> None:
        """Show the final answer and save it; `busy` stays true until the turn is in the conversation."""
        if turn.finish_reason == "cancelled" and not turn.answer:
            await self._drop_last_turn(view, turn.question)
        else:
            await view.finish(turn)
            self.conversation.add(turn)
            self.app.save_conversation(self.conversation)
            self._select(view.index)
            self.refresh_status()
            if turn.finish_reason == "cancelled":
                self._restore_prompt(turn.question)
        self._turn = self._view = self._cancel = None

    async def _drop_last_turn(self, view: AnswerView, question: str) -> None:
        log = self.query_one("#log", VerticalScroll)
        questions = log.query(QuestionView)
        if questions:
            await questions.last().remove()
        await view.remove()
        self._restore_prompt(question)
        self.notify("Stopped. Your question is back in the prompt.")

    def _restore_prompt(self, question: str) -> None:
        prompt = self.query_one(PromptInput)
        prompt.value = question
        prompt.cursor_position = len(question)
        prompt.focus()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        if event.worker.group != "ask":  # e.g. opening a record
            self.app.show_error(event.worker.error)
            return
        view, turn = self._view, self._turn
        self._turn = self._view = self._cancel = None
        error = event.worker.error
        if view is not None and turn is not None:
            self.run_worker(self._drop_last_turn(view, turn.question), exclusive=False)
        if not isinstance(error, Cancelled):
            self.app.show_error(error)

    def action_stop(self) -> None:
        if self._cancel is not None and self._view is not None:
            self._cancel.cancel()
            self._view.set_status("stopping…")

    # --- panels and records -----------------------------------------------------------------------

    def _select(self, index: int | None) -> None:
        self.selected = index
        turns = self.conversation.turns
        turn = turns[index] if index is not None and index < len(turns) else None
        self.query_one(PrivacyPanel).show(turn)
        self.query_one(SourcesPanel).show(turn)

    def on_answer_view_selected(self, event: AnswerView.Selected) -> None:
        self._select(event.index)

    def on_markdown_link_clicked(self, event: Markdown.LinkClicked) -> None:
        event.stop()
        view = next((a for a in event.markdown.ancestors if isinstance(a, AnswerView)), None)
        if view is not None and event.href.startswith("source:"):
            self._select(view.index)
            self.open_source(int(event.href.split(":", 1)[1]))

    def on_sources_panel_open(self, event: SourcesPanel.Open) -> None:
        self.open_source(event.number)

    def open_source(self, number: int) -> None:
        if self.selected is None:
            return
        sources = self.conversation.turns[self.selected].sources
        if not 1 <= number <= len(sources):
            return
        src = sources[number - 1]
        where = f" · {src.where}" if src.where else ""
        self._open_record(src.id, f"[{number}] {src.path}{where}  (score {src.score:.2f})", src.snippet)

    @work(thread=True, exit_on_error=False, group="record")
    def _open_record(self, record_id: str, heading: str, fallback: str) -> None:
        text = self.app.backend.record_text(record_id) or fallback
        self.app.call_from_thread(self.app.push_screen, RecordModal(heading, text))

    # --- conversations ----------------------------------------------------------------------------

    async def load_conversation(self, conv: Conversation) -> None:
        """Show a saved conversation; new questions continue it."""
        self.action_stop()
        self.conversation = conv
        self.app.backend.start_conversation([(t.question, t.answer) for t in conv.turns])
        log = self.query_one("#log", VerticalScroll)
        await log.remove_children()
        for n, turn in enumerate(conv.turns):
            view = AnswerView(n)
            await log.mount_all([QuestionView(turn.question), view])
            await view.show(turn)
        self._select(len(conv.turns) - 1 if conv.turns else None)
        self.refresh_status()
        log.scroll_end(animate=False)

    async def action_new_conversation(self) -> None:
        await self.load_conversation(Conversation())

    def action_focus_prompt(self) -> None:
        self.query_one(PromptInput).focus()
