"""Index a folder from the app (real embedder, real encrypted store), then see it cited as a source."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from assistant.tui.app import AssistantApp
from assistant.tui.screens.chat import ChatScreen
from assistant.tui.screens.index import IndexScreen
from assistant.tui.screens.modals import PathModal
from assistant.tui.widgets.panels import NOTHING_LEFT, SourcesPanel, render_privacy
from assistant.tui.widgets.prompt import PromptInput
from models.base import SamplingParams
from tests.tui.conftest import type_text, wait_until

pytestmark = pytest.mark.slow
SLOW = 300  # s: loading the embedder and the first CKKS setup on a busy machine

RECORDS = {  # fictional
    "dentist.md": "# Dentist\nCleaning with Dr Lee at Harbor Dental on 14 March 2026 at 09:30.",
    "garden.md": "# Garden\nPlant the tomato seedlings after the last frost, late April.",
    "car.md": "# Car\nThe car's next service is due at 60,000 km; the tyres were rotated in January.",
}


def test_index_a_folder_then_answer_with_sources(
    settings: Settings, keyfile: Any, small_model: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "records"
    folder.mkdir()
    for name, text in RECORDS.items():
        (folder / name).write_text(text, encoding="utf-8")
    progress: list[tuple[int, int]] = []
    real_progress = IndexScreen._progress

    def spy(self: IndexScreen, event: Any) -> None:
        progress.append((event.files_done, event.files_total))
        real_progress(self, event)

    async def scenario() -> None:
        app = AssistantApp(settings, keyring=keyfile, model=small_model, params=SamplingParams(max_tokens=24))
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen))
            chat = app.screen
            await pilot.press("f3")
            await wait_until(pilot, lambda: isinstance(app.screen, IndexScreen))
            screen = app.screen
            message = screen.query_one("#index-message")
            await wait_until(pilot, lambda: "Nothing is indexed yet" in str(message.render()), timeout=SLOW)
            await pilot.press("a")
            await wait_until(pilot, lambda: isinstance(app.screen, PathModal))
            app.screen.query_one("#path-input").value = str(folder)
            await pilot.press("enter")
            # no wait for `screen.indexing` itself: press() waits for idle and a quick run may be over by
            # then; the progress events asserted below prove the worker ran
            await wait_until(pilot, lambda: not screen.indexing and len(screen.files) == 3, timeout=SLOW)
            assert "3 file(s)" in str(message.render())
            assert progress and progress[-1] == (3, 3)
            assert sorted(Path(f.path).name for f in screen.files) == sorted(RECORDS)
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is chat)
            await type_text(pilot, "When is my dentist appointment with Dr Lee?")
            await chat.query_one(PromptInput).action_submit()
            await wait_until(pilot, lambda: chat.busy)
            await wait_until(pilot, lambda: not chat.busy, timeout=SLOW)
            turn = chat.conversation.turns[-1]
            assert turn.sources, turn.notices
            assert Path(turn.sources[0].path).name == "dentist.md"
            assert chat.query_one(SourcesPanel).query_one("#sources-table").row_count == len(turn.sources)
            assert NOTHING_LEFT in render_privacy(turn).plain

    monkeypatch.setattr(IndexScreen, "_progress", spy)
    asyncio.run(scenario())


def test_watch_a_folder_from_the_index_screen(
    settings: Settings, keyfile: Any, small_model: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "watched"
    folder.mkdir()
    (folder / "dentist.md").write_text(RECORDS["dentist.md"], encoding="utf-8")

    async def scenario() -> None:
        app = AssistantApp(settings, keyring=keyfile, model=small_model, params=SamplingParams(max_tokens=8))
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen))
            await pilot.press("f3")
            await wait_until(pilot, lambda: isinstance(app.screen, IndexScreen))
            screen = app.screen
            await pilot.press("w")
            await wait_until(pilot, lambda: isinstance(app.screen, PathModal))
            app.screen.query_one("#path-input").value = str(folder)
            await pilot.press("enter")
            await wait_until(pilot, lambda: screen.watching and len(screen.files) == 1, timeout=SLOW)
            assert screen.applied and screen.applied[0].startswith("first pass: 1 indexed")

            (folder / "garden.md").write_text(RECORDS["garden.md"], encoding="utf-8")
            await wait_until(pilot, lambda: len(screen.files) == 2, timeout=SLOW)
            assert "1 indexed" in screen.applied[-1]
            applied = screen.query_one("#index-applied")
            assert "1 indexed" in str(applied.render())

            (folder / "dentist.md").unlink()
            await wait_until(
                pilot, lambda: [Path(f.path).name for f in screen.files] == ["garden.md"], timeout=SLOW
            )
            assert "1 removed" in screen.applied[-1]

            await pilot.press("w")  # stop watching
            await wait_until(pilot, lambda: not screen.watching, timeout=SLOW)
            (folder / "car.md").write_text(RECORDS["car.md"], encoding="utf-8")
            await pilot.pause(1.5)
            screen.action_refresh()
            await pilot.pause(0.5)
            assert [Path(f.path).name for f in screen.files] == ["garden.md"]  # nothing follows it now

    asyncio.run(scenario())
