"""Driving the console under Textual's Pilot: the app, a conversation by topic, the screen's
text, and waits: on the app itself without a clock, on its threads bounded."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time

from rich.console import Console

from talkroom.console.app import TalkroomApp
from talkroom.core import config, store
from talkroom.core.model import Conversation
from talkroom.core.paths import Root
from tests import consoledata


def make_app(root: Root, watch: bool = False) -> TalkroomApp:
    """The console on `root`, as the moderator "mod", its watcher off unless asked."""
    return TalkroomApp(root, consoledata.HOST, config.load(), watch=watch, moderator="mod")


def conv(root: Root, topic: str) -> Conversation:
    """The conversation with this topic, as its file says now."""
    for path in store.conversation_files(root.conversations):
        try:
            c = store.load(path)
        except Exception:
            continue
        if c.topic == topic:
            return c
    raise AssertionError(f"no conversation {topic!r}")


async def select(pilot, app: TalkroomApp, topic: str) -> None:
    """Highlight the conversation with this topic in the list."""
    target = conv(app.root, topic).id
    app.main.listing.select_id(target)
    await pilot.pause()
    assert app.selected_id == target


async def wait_until(pilot, predicate, timeout: float = 10.0) -> None:
    """Until `predicate()` holds, for what the app's threads see in real files and panes (the
    tailer's watchdog events and polls, the tracker's one-second wait before it calls a
    file unreadable, the replay player's clock, tmux): nothing the test posts can stand in
    for those. Looked at again after every message the app or a screen handles, and at
    least every 50 ms (a layout pass is not a message); bounded, so a bug fails, not hangs.
    What the app does by itself is awaited without a clock: see `written`."""
    app = pilot.app
    woken = asyncio.Event()
    nodes = [app, *app.screen_stack]
    for node in nodes:
        node.message_signal.subscribe(app, lambda _: woken.set(), immediate=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            await pilot.pause()
            if predicate():
                return
            assert time.monotonic() < deadline, "timed out"
            woken.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), 0.05)
    finally:
        for node in nodes:
            node.message_signal.unsubscribe(app)


async def started(pilot, app: TalkroomApp) -> None:
    """Until the first load (the tailer thread's first read of the root), then what the
    main screen does after it (the watcher starts after the first refresh)."""
    await wait_until(pilot, lambda: app.main.loaded)
    await pilot.pause()


async def settled(pilot) -> None:
    """Until what the app has been told is on screen: messages handled, animations and
    the refresh after them done. No clock: the pilot waits for the app to be idle."""
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def written(pilot) -> None:
    """Until every write worker has finished and its outcome has been handled (a dialog
    closed or an error shown): the app's own doing, awaited without a clock."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()  # the WriteDone, on the dialog or the main screen
    await pilot.pause()  # the dismissed dialog's callback on the main screen


def screen_text(app: TalkroomApp) -> str:
    """The characters on screen, as the terminal would get them (styles aside)."""
    console = Console(
        width=app.size.width,
        height=app.size.height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text(styles=False)
