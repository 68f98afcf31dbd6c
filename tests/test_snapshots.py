"""Snapshots of the console: fixed clock, size and data; the watcher off. The talk root is
in this test's own folder, with HOME there too, so the screen shows `~/talks` in every run
and two runs of the suite on one machine never share a folder.

`screenshots/regenerate.py` copies some of these into the README's screenshots.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from talkroom.console.app import TalkroomApp
from talkroom.console.widgets.conversation_list import ConversationList
from talkroom.core import config
from tests import consoledata
from tests.test_console import settled, wait_until

SIZE = (120, 34)
Before = Callable[[Pilot], Awaitable[None]]


@pytest.fixture
def app(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> TalkroomApp:
    root = consoledata.build_at_home(isolated, monkeypatch)
    return TalkroomApp(root, consoledata.HOST, config.load(env={}), watch=False, moderator="mod")


def showing(topic: str | None, *keys: str) -> Before:
    """Wait for the data (unreadable files included), select `topic`, press `keys`."""

    async def before(pilot: Pilot) -> None:
        app = pilot.app
        assert isinstance(app, TalkroomApp)
        # The tailer reads real files in its thread, and calls a file unreadable once it
        # stayed so for a second: only waiting shows when it has.
        await wait_until(pilot, lambda: app.main.loaded and "broken-file" in app.main.listing.ids)
        listing = app.main.listing
        if topic is not None:
            ids = [
                r.id
                for r in app.main.state.rows()
                if (r.conv.topic if r.conv else r.id).startswith(topic)
            ]
            listing.select_id(ids[0])
            await pilot.pause()
        app.query_one(ConversationList).focus()
        if keys:
            await pilot.press(*keys)
        await settled(pilot)
        steady_cursors(app)
        await pilot.pause()

    return before


def steady_cursors(app: TalkroomApp) -> None:
    """A blinking cursor is drawn or not depending on timing: keep it drawn."""
    for widget in app.screen.query("Input, TextArea"):
        widget.cursor_blink = False  # type: ignore[attr-defined]


def test_live_conversation_with_receipts(app: TalkroomApp, snap_compare) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=showing("Which queue"))


def test_paused(app: TalkroomApp, snap_compare) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=showing("Logging"))


def test_closed(app: TalkroomApp, snap_compare) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=showing("Test runner"))


def test_needs_you(app: TalkroomApp, snap_compare) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=showing("Release"))


def test_unreadable_file(app: TalkroomApp, snap_compare) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=showing("broken-file"))


def test_hostile_text_is_inert(app: TalkroomApp, snap_compare) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=showing("Hostile"))


def test_80x24(app: TalkroomApp, snap_compare) -> None:
    assert snap_compare(app, terminal_size=(80, 24), run_before=showing("Which queue"))


def test_light_theme(app: TalkroomApp, snap_compare) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=showing("Which queue", "t"))


@pytest.mark.parametrize(
    "key",
    ["n", "i", "p", "c", "e", "o", "question_mark"],
    ids=["next", "inject", "pause", "close", "extend", "open", "help"],
)
def test_dialogs(app: TalkroomApp, snap_compare, key: str) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=showing("Which queue", key))
