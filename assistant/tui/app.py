"""The Textual app: unlock, then chat. Owns the core, the conversation store and the one error dialog."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from assistant.conversations import Conversation, ConversationStore
from assistant.core import AssistantCore
from assistant.errors import AssistantError, translate
from assistant.tui.messages import ErrorRaised
from assistant.tui.prefs import Prefs
from assistant.tui.screens.chat import ChatScreen
from assistant.tui.screens.conversations import ConversationsScreen
from assistant.tui.screens.help import HelpScreen
from assistant.tui.screens.index import IndexScreen
from assistant.tui.screens.modals import ErrorModal
from assistant.tui.screens.note import NoteScreen
from assistant.tui.screens.settings import SettingsScreen
from assistant.tui.screens.unlock import UnlockScreen
from models.base import SamplingParams

if TYPE_CHECKING:
    from assistant.config import Settings
    from models.base import ChatModel


class AssistantApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "Private assistant"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(
        self,
        settings: Settings,
        *,
        keyring: Any = None,
        model: ChatModel | None = None,
        params: SamplingParams | None = None,
    ) -> None:
        super().__init__()
        self._params = params or SamplingParams()
        self.settings = settings
        self.prefs = Prefs.load(settings.home)
        self.keyring = keyring
        self._injected_model = model
        self._core: AssistantCore | None = None
        self._conversations: ConversationStore | None = None

    # --- unlock -----------------------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.keyring is not None:
            self._unlocked(self.keyring)
        elif self.settings.passphrase is not None:
            self._auto_unlock(self.settings.passphrase.get_secret_value())
        else:
            self._ask_passphrase()

    def _ask_passphrase(self) -> None:
        screen = UnlockScreen(self.settings, create=not self.settings.keyfile.exists())
        self.push_screen(screen, self._unlocked)

    @work(thread=True, exit_on_error=False, group="auto-unlock")
    def _auto_unlock(self, passphrase: str) -> Any:
        return self.open_keyring(passphrase, create=not self.settings.keyfile.exists())

    def open_keyring(self, passphrase: str, *, create: bool) -> Any:
        """Derive the keys from the passphrase (slow by design: call from a worker).

        Raises:
            AuthError: wrong passphrase.
        """
        from assistant import core

        return core.unlock(self.settings, passphrase, create=create)

    def _unlocked(self, keyring: Any) -> None:
        self.keyring = keyring
        self._core = AssistantCore(
            self.effective_settings(),
            keyring=keyring,
            model=self._injected_model,
            params=self._params,
            generalize=self.prefs.generalize,
        )
        self._conversations = self._core.conversations()
        self.push_screen(ChatScreen())
        self._warm_up()

    @work(thread=True, exit_on_error=False, group="warm-up")
    def _warm_up(self) -> None:
        """Load the model and evaluate the answer prompt's fixed opening now, so the first answer
        does not wait for either."""
        self.core.prepare_answers()
        self.call_from_thread(self._refresh_chat_status)

    def _refresh_chat_status(self) -> None:
        if isinstance(self.screen, ChatScreen):
            self.screen.refresh_status()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "auto-unlock" and event.state == WorkerState.SUCCESS:
            self._unlocked(event.worker.result)
        if event.state != WorkerState.ERROR:
            return
        if event.worker.group == "auto-unlock":
            self._ask_passphrase()
            self.notify("ASSISTANT_PASSPHRASE did not unlock the keys.", severity="error")
        else:
            self.show_error(event.worker.error)

    # --- shared services --------------------------------------------------------------------------

    @property
    def core(self) -> AssistantCore:
        if self._core is None:
            raise RuntimeError("the app is still locked")
        return self._core

    backend = core  # the chat screen's name for it

    @property
    def conversations(self) -> ConversationStore:
        if self._conversations is None:
            raise RuntimeError("the app is still locked")
        return self._conversations

    def effective_settings(self) -> Settings:
        """The environment's settings with the settings screen's choices on top."""
        update: dict[str, Any] = {}
        if self.prefs.model:
            update["model"] = self.prefs.model
        return self.settings.model_copy(update=update)

    def on_error_raised(self, message: ErrorRaised) -> None:
        self.show_error(message.error)

    def show_error(self, error: BaseException | None) -> None:
        """The one place errors reach the user: a dialog with a title and a next step."""
        error = (translate(error) or error) if error is not None else None
        if isinstance(error, AssistantError):
            self.push_screen(ErrorModal(error.title, error.next_step))
        else:
            name = type(error).__name__ if error else "Error"
            self.push_screen(
                ErrorModal(
                    f"Unexpected problem: {name}: {error}",
                    "Try again; if it persists, run `assistant --debug chat` and report it.",
                )
            )

    def save_conversation(self, conv: Conversation) -> None:
        try:
            self.conversations.save(conv)
        except (AssistantError, OSError) as exc:
            self.show_error(exc)

    def save_prefs(self) -> None:
        try:
            self.prefs.save(self.settings.home)
        except OSError as exc:
            self.notify(f"Settings not saved: {exc.strerror}", severity="warning")

    # --- actions ----------------------------------------------------------------------------------

    def _chat(self) -> ChatScreen | None:
        return next((s for s in reversed(self.screen_stack) if isinstance(s, ChatScreen)), None)

    def action_conversations(self) -> None:
        if self._conversations is None:
            return

        async def resume(conv: Conversation | None) -> None:
            chat = self._chat()
            if conv is not None and chat is not None:
                await chat.load_conversation(conv)

        self.push_screen(ConversationsScreen(self.conversations), resume)

    def action_settings(self) -> None:
        if self._core is None:
            return

        def apply(prefs: Prefs | None) -> None:
            if prefs is None:
                return
            self.prefs = prefs
            self.save_prefs()
            self.core.reconfigure(self.effective_settings(), generalize=prefs.generalize)
            chat = self._chat()
            if chat is not None:
                chat.refresh_status()
            self.notify("Settings saved.")

        self.push_screen(SettingsScreen(self.prefs, remote_url=self.settings.remote_url), apply)

    def action_index(self) -> None:
        if self._core is not None:
            self.push_screen(IndexScreen(self.core))

    def action_note(self) -> None:
        if self._core is not None:
            self.push_screen(NoteScreen(self.core))

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    async def action_new_conversation(self) -> None:
        chat = self._chat()
        if chat is not None:
            await chat.action_new_conversation()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if self._core is None:
            return
        yield SystemCommand("New conversation", "Start an empty conversation", self.action_new_conversation)
        yield SystemCommand("Conversations", "Resume, delete or export saved ones", self.action_conversations)
        yield SystemCommand("Index folders", "Add folders of records; see what is indexed", self.action_index)
        yield SystemCommand(
            "Clinical note", "Visit transcript to a structured note, on the device", self.action_note
        )
        yield SystemCommand("Settings", "Local model, remote planner, sanitizer", self.action_settings)
        yield SystemCommand("Keys and help", "Keybindings and what the panels mean", self.action_help)

    def on_unmount(self) -> None:
        if self._core is not None:
            self._core.close()
