"""Snapshots of the console: fixed clock, size, data and folder; the watcher off.

`screenshots/regenerate.py` copies some of these into the README's screenshots.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from talkroom.console.app import TalkroomApp
from talkroom.console.widgets.conversation_list import ConversationList
from talkroom.core import config
from tests import consoledata

ROOT = Path("/tmp/talkroom-snapshots/talks")  # fixed: the console shows its root
SIZE = (120, 34)
Before = Callable[[Pilot], Awaitable[None]]


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> TalkroomApp:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setenv("TALKROOM_FAKE_NOW", consoledata.NOW)
    root = consoledata.build(ROOT)
    return TalkroomApp(root, consoledata.HOST, config.load(env={}), watch=False,
                       moderator="mod")


def showing(topic: str | None, *keys: str, settle: float = 0.3) -> Before:
    """Wait for the data (unreadable files included), select `topic`, press `keys`."""
    async def before(pilot: Pilot) -> None:
        app = pilot.app
        assert isinstance(app, TalkroomApp)
        listing = app.query_one(ConversationList)
        for _ in range(200):
            if app.loaded and "broken-file" in listing._ids:
                break
            await pilot.pause(0.05)
        if topic is not None:
            ids = [r.id for r in app.state.rows()
                   if (r.conv.topic if r.conv else r.id).startswith(topic)]
            listing.highlighted = listing._ids.index(ids[0])
            await pilot.pause()
        app.query_one(ConversationList).focus()
        if keys:
            await pilot.press(*keys)
        await pilot.pause(settle)
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


@pytest.mark.parametrize("key", ["n", "i", "p", "c", "e", "o", "question_mark"],
                         ids=["next", "inject", "pause", "close", "extend", "open", "help"])
def test_dialogs(app: TalkroomApp, snap_compare, key: str) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=showing("Which queue", key))
