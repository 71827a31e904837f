"""`assistant chat` in a real terminal: tmux runs it, the test types a question and reads the screen."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.conversations import ConversationStore
from assistant.wiring import create_keys, unlock
from tests.helpers import FAST_KDF
from tests.tui.conftest import PASSPHRASE

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"),
]
ROOT = Path(__file__).resolve().parents[2]
QUESTION = "What is the capital of France?"
BORDERS = re.compile(r"[█▌▐│▊▎▔▁▏╸━╺]")


class Tmux:
    """One tmux server on a private socket, so the test never touches anyone else's sessions."""

    def __init__(self) -> None:
        self.socket = f"assistant-test-{uuid.uuid4().hex[:8]}"

    def __call__(self, *args: str) -> str:
        out = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30)
        return out.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "chat")

    def wait_for(self, predicate: object, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if predicate(text):  # type: ignore[operator]
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; the screen shows:\n{text}")
            time.sleep(0.5)


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z][A-Za-z']+", text)


def test_chat_in_a_real_terminal(settings: Settings) -> None:
    create_keys(settings, PASSPHRASE, kdf=FAST_KDF)
    env = {
        "ASSISTANT_HOME": str(settings.home),
        "ASSISTANT_PASSPHRASE": PASSPHRASE,
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
    }
    exports = " ".join(f"{k}={v!r}" for k, v in env.items())
    command = f"cd {str(ROOT)!r} && env {exports} {sys.executable!r} -m assistant chat --max-tokens 32"
    tmux = Tmux()
    try:
        tmux("new-session", "-d", "-s", "chat", "-x", "120", "-y", "36", command)
        tmux.wait_for(lambda s: "Ask about your records" in s and "model: smollm2" in s, timeout=240)
        tmux("send-keys", "-t", "chat", "-l", QUESTION)
        tmux("send-keys", "-t", "chat", "Enter")
        screen = tmux.wait_for(lambda s: "nothing left this device ·" in s, timeout=300)
        tmux("send-keys", "-t", "chat", "C-q")
        time.sleep(1)
    finally:
        tmux("kill-server")
    # The answer the app saved (encrypted) is the one on the screen.
    store = ConversationStore(settings.home / "conversations", unlock(settings, PASSPHRASE))
    (conversation,) = store.list_all()
    (turn,) = conversation.turns
    assert turn.question == QUESTION and turn.answer.strip()
    visible = " ".join(BORDERS.sub(" ", screen).split())
    assert QUESTION in visible
    answer_words = _words(turn.answer)[:6]
    assert answer_words, turn.answer
    assert " ".join(answer_words) in " ".join(_words(visible)), (answer_words, screen)
    assert "Traceback" not in screen
