"""The action table drives the bindings, the footer, the palette and the help, so a typo
cannot be silent; bursts of producer messages are coalesced without losing a change; every
write's failure is said in one line by one handler."""

from __future__ import annotations

import errno
import threading
from pathlib import Path

from rich.table import Table
from textual.binding import Binding
from textual.widgets import Input, Static

from talkroom.console import actions
from talkroom.console.app import TalkroomApp
from talkroom.console.messages import (
    ConversationsChanged,
    HostsChanged,
    ReceiptsArrived,
    WatcherReport,
)
from talkroom.console.screens.dialogs import OneLineDialog
from talkroom.console.screens.help import HelpScreen
from talkroom.console.screens.main import MainScreen
from talkroom.console.screens.replay import ReplayScreen
from talkroom.console.writes import Outcome, Write
from talkroom.core.errors import Refused
from talkroom.core.paths import Root
from talkroom.core.receipts import Receipt
from talkroom.core.store import Snapshot
from talkroom.watch.watcher import WatchEvent
from tests import consoledata
from tests.consolepilot import make_app, select, started, written

# --- the action table -------------------------------------------------------------------

# The keys and actions the console had before the table; none may go missing.
KEYS_BEFORE_THE_TABLE = {
    "n": "set_next",
    "i": "inject",
    "p": "pause",
    "r": "resume",
    "c": "close_conversation",
    "e": "extend",
    "u": "nudge",
    "o": "open_conversation",
    "R": "replay",
    "slash": "search",
    "x": "export",
    "d": "decisions",
    "P": "problems",
    "v": "toggle_peek",
    "y": "copy_id",
    "Y": "copy_path",
    "f": "focus_filter",
    "1": "status_filter('all')",
    "2": "status_filter('live')",
    "3": "status_filter('paused')",
    "4": "status_filter('closed')",
    "end": "jump_to_end",
    "G": "jump_to_end",
    "left_square_bracket": "load_earlier",
    "t": "toggle_theme",
    "question_mark": "help",
    "q": "quit",
}
SCOPE_CLASSES = {"app": TalkroomApp, "main": MainScreen, "replay": ReplayScreen}


def keys_of(scope: str) -> dict[str, str]:
    """Each key of a scope and the action it runs, from the class's BINDINGS."""
    found: dict[str, str] = {}
    for binding in SCOPE_CLASSES[scope].BINDINGS:
        assert isinstance(binding, Binding)
        for key in binding.key.split(","):
            assert key not in found, f"{key} bound twice in {scope}"
            found[key] = binding.action
    return found


def test_every_action_in_the_table_runs_a_method_of_its_screen() -> None:
    for entry in actions.ACTIONS:
        owner = SCOPE_CLASSES[entry.scope]
        assert callable(getattr(owner, f"action_{entry.name}", None)), (
            f"{entry.keys}: {owner.__name__} has no action_{entry.name}"
        )
        assert entry.group in actions.GROUPS and entry.label and entry.help
        assert entry.statuses is None or set(entry.statuses) <= set(actions.ANY)
        assert entry.statuses is not None or not (entry.hide_when_off or entry.needs_agent_next)


def test_the_bindings_are_the_table_and_keep_every_key_there_was() -> None:
    for scope in actions.SCOPES:
        table = {
            key: entry.action for entry in actions.in_scope(scope) for key in entry.keys.split(",")
        }
        assert keys_of(scope) == table
        shown = [b.key for b in SCOPE_CLASSES[scope].BINDINGS if isinstance(b, Binding) and b.show]
        assert shown == [e.keys for e in actions.in_scope(scope) if e.footer]
    console = {**keys_of("main"), **keys_of("app")}
    assert {k: console.get(k) for k in KEYS_BEFORE_THE_TABLE} == KEYS_BEFORE_THE_TABLE
    replay = keys_of("replay")
    assert replay == {
        "space": "toggle_play",
        "right": "step(1)",
        "l": "step(1)",
        "left": "step(-1)",
        "h": "step(-1)",
        "home": "first",
        "end": "last",
        "s": "speed",
        "t": "jump",
        "escape": "leave",
        "q": "leave",
    }


def test_the_keys_textual_binds_that_the_help_lists_are_bound() -> None:
    from textual.app import App
    from textual.screen import Screen
    from textual.widgets import OptionList

    bound = {
        key
        for cls in (Screen, OptionList)
        for b in cls.BINDINGS
        if isinstance(b, Binding)
        for key in b.key.split(",")
    }
    bound.add(App.COMMAND_PALETTE_BINDING)
    for builtin in actions.TEXTUAL_KEYS:
        assert set(builtin.keys.split(",")) <= bound, builtin


async def test_the_help_lists_exactly_the_tables_keys(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows: list[tuple[str, str]] = []
        for static in app.screen.query(".help-group").results(Static):
            table = static.content
            assert isinstance(table, Table)
            keys, texts = (list(column.cells) for column in table.columns)
            rows += [(str(k), str(t)) for k, t in zip(keys, texts, strict=True)]
        expected = [(actions.key_display(e.keys), e.help) for e in actions.ACTIONS]
        expected += [(actions.key_display(b.keys), b.help) for b in actions.TEXTUAL_KEYS]
        assert sorted(rows) == sorted(expected)
        await pilot.press("escape")


async def test_the_palette_offers_what_applies_to_the_selected_conversation(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Logging format")  # paused

        def titles() -> set[str]:
            return {command.title for command in app.get_system_commands(app.main)}

        assert {
            "Resume",
            "Set next",
            "Close",
            "Replay",
            "Search",
            "Switch theme",
            "Show live conversations",
        } <= titles()
        assert "Pause" not in titles() and "Nudge" not in titles()
        await select(pilot, app, "Test runner")  # closed
        assert {"Replay", "Export", "Copy the id"} <= titles()
        assert not {"Set next", "Inject a message", "Resume", "Close"} & titles()
        # A palette command runs the action of the table, on the main screen.
        command = next(c for c in app.get_system_commands(app.main) if c.title == "Replay")
        await command.callback()
        await pilot.pause()
        assert isinstance(app.screen, ReplayScreen)


# --- bursts -------------------------------------------------------------------------------


def test_a_newer_message_takes_an_older_ones_content_in() -> None:
    def snap(conv_id: str) -> Snapshot:
        return Snapshot(Path(f"/nowhere/{conv_id}.md"), error="x")

    older = ConversationsChanged([snap("a"), snap("b"), snap("c")], ["d", "e"])
    newer = ConversationsChanged([snap("b"), snap("d")], ["c"])
    assert older.can_replace(newer)
    assert [s.conv_id for s in newer.updates] == ["a", "b", "d"]
    assert newer.updates[1] is not older.updates[1]  # the newer snapshot of b wins
    assert newer.removed == ["e", "c"]  # d came back; c went away
    receipts = [
        Receipt("h", consoledata.NOW, "a", "b", n, "ada", "%1", "delivered", 1) for n in range(3)
    ]
    early, late = ReceiptsArrived(receipts[:2]), ReceiptsArrived(receipts[2:])
    assert early.can_replace(late) and late.receipts == receipts
    assert not early.can_replace(ConversationsChanged([], []))

    def report(kind: str) -> WatcherReport:
        return WatcherReport(WatchEvent(kind, kind))

    assert report("sessions").can_replace(report("failed"))
    assert report("error").can_replace(report("recovered"))
    assert not report("error").can_replace(report("sessions"))  # the error would be lost
    assert not report("failed").can_replace(report("sessions"))  # so would its toast


async def test_a_burst_of_changes_is_one_refresh_and_loses_nothing(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        main = app.main
        calls: list[int] = []
        apply = main.state.apply

        def counting(updates: list[Snapshot], removed: list[str]) -> set[str]:
            if any(s.conv_id.startswith("burst-") for s in updates):
                calls.append(len(updates))
            return apply(updates, removed)

        main.state.apply = counting  # type: ignore[method-assign]
        statuses: list[int] = []
        show_status = main.show_status
        main.show_status = lambda: (statuses.append(1), show_status())  # type: ignore[method-assign]
        # Posted from the app's own loop, they wait in the queue together, as a burst from
        # the tailer waits behind a slow redraw.
        for i in range(100):
            main.post_message(
                ConversationsChanged(
                    [Snapshot(Path(f"/nowhere/burst-{i:03}.md"), error="burst")], []
                )
            )
        beats = [list(main.state.heartbeats) for _ in range(100)]
        for heartbeats in beats:
            main.post_message(HostsChanged(heartbeats, main.state.sessions, []))
        await pilot.pause()
        assert len(calls) == 1 and calls[0] >= 100  # one refresh of the list...
        assert {f"burst-{i:03}" for i in range(100)} <= set(main.state.snapshots)  # ...of all
        assert statuses == [1] and main.state.heartbeats is beats[-1]  # the newest only


# --- write outcomes -----------------------------------------------------------------------


async def test_write_failures_are_said_in_one_line_by_one_handler(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await started(pilot, app)

        def full_disk() -> Outcome:
            raise OSError(errno.ENOSPC, "No space left on device")

        app.main.write(full_disk)
        await written(pilot)
        assert [(n.title, n.message) for n in app._notifications] == [
            ("refused", "cannot write: the disk is full; free space and try again")
        ]

        # A dialog left with Escape while its write runs: the main screen says how it went.
        release = threading.Event()

        def slow_refusal(text: str) -> Write:
            def write() -> Outcome:
                release.wait(10)
                raise Refused(f"not now: {text}")

            return write

        app.push_screen(OneLineDialog("Slow", "Go", slow_refusal))
        await pilot.pause()
        app.screen.query_one(Input).value = "later"
        await pilot.press("enter")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, OneLineDialog)
        release.set()
        await written(pilot)
        assert ("refused", "not now: later") in [(n.title, n.message) for n in app._notifications]


def test_the_app_keeps_textuals_watch(data: Root) -> None:
    from textual.dom import DOMNode

    app = make_app(data, watch=True)
    assert app.run_watcher is True
    assert app.watch.__func__ is DOMNode.watch  # type: ignore[attr-defined]
