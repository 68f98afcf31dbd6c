"""The console under Textual's Pilot: every action, asserted on the file and on the widgets."""

from __future__ import annotations

import io
import threading
import time

import pytest
from rich.console import Console
from textual.widgets import Input, SelectionList, TextArea

from talkroom.console.app import TalkroomApp
from talkroom.console.screens.dialogs import WriteDialog
from talkroom.console.widgets.conversation_list import ConversationList
from talkroom.console.widgets.transcript import WINDOW, BlockView, Transcript
from talkroom.core import config, moderate, ops, store
from talkroom.core.paths import Root
from tests import consoledata

pytestmark = pytest.mark.asyncio




def make_app(root: Root, watch: bool = False) -> TalkroomApp:
    return TalkroomApp(root, consoledata.HOST, config.load(), watch=watch, moderator="mod")


def conv(root: Root, topic: str):
    for path in store.conversation_files(root.conversations):
        try:
            c = store.load(path)
        except Exception:
            continue
        if c.topic == topic:
            return c
    raise AssertionError(f"no conversation {topic!r}")


async def select(pilot, app: TalkroomApp, topic: str) -> None:
    listing = app.query_one(ConversationList)
    target = conv(app.root, topic).id
    listing.highlighted = listing._ids.index(target)
    await pilot.pause()
    assert app.selected_id == target


async def started(pilot, app: TalkroomApp) -> None:
    """Wait for the first load."""
    for _ in range(100):
        if app.loaded:
            break
        await pilot.pause(0.05)
    await pilot.pause()


async def wait_until(pilot, predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)


async def test_starts_on_the_most_recently_active_conversation(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        rows = app.state.rows()
        assert rows[0].needs_you and rows[0].conv.topic == "Release date"
        assert app.selected().topic.startswith("Hostile")  # opened last
        listing = app.query_one(ConversationList)
        # A file that does not parse is called unreadable once it stays so for a second.
        await wait_until(pilot, lambda: "broken-file" in listing._ids)
        assert len(listing._ids) == 6 and listing._ids[1] == "broken-file"
        transcript = app.query_one(Transcript)
        assert len(transcript.query(BlockView)) == 1


async def test_set_next(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        await pilot.press("n")
        dialog = app.screen
        selection = dialog.query_one(SelectionList)
        selection.deselect_all()
        selection.select("ada")
        selection.select("moderator")
        await pilot.click("#ok")
        await wait_until(pilot, lambda: not isinstance(app.screen, WriteDialog))
        c = conv(data, "Which queue backend?")
        assert c.next == ["ada", "moderator"] and c.blocks[-1].action == "next"
        await wait_until(pilot, lambda: len(app.query_one(Transcript).conv.blocks) == 6)


async def test_inject_and_a_refusal_keeps_the_text(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        await pilot.press("i")
        area = app.screen.query_one(TextArea)
        area.insert("Please **converge** now.")
        # Someone closes the conversation while the moderator types.
        c = conv(data, "Which queue backend?")
        ops.run(moderate.plan_moderate(data, c.id, "close", moderator="other", body="elsewhere"),
                "other-host")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen.query_one("#error").display)
        assert isinstance(app.screen, WriteDialog)
        assert "is closed: elsewhere" in str(app.screen.query_one("#error").render())
        assert app.screen.query_one(TextArea).text == "Please **converge** now."
        await pilot.press("escape")
    assert conv(data, "Which queue backend?").blocks[-1].action == "close"


async def test_inject_with_next(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        await pilot.press("i")
        app.screen.query_one(TextArea).insert("Summarise, please.")
        app.screen.query_one(SelectionList).select("ada")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, WriteDialog))
    c = conv(data, "Which queue backend?")
    assert c.blocks[-1].action == "inject" and c.blocks[-1].body == "Summarise, please."
    assert c.next == ["ada"]


async def test_pause_resume_and_the_actions_that_apply(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        assert app.check_action("pause", ()) is True and app.check_action("resume", ()) is False
        await pilot.press("p")
        app.screen.query_one(Input).value = "lunch"
        await pilot.press("enter")
        await wait_until(pilot, lambda: conv(data, "Which queue backend?").status == "PAUSED")
        await wait_until(pilot, lambda: app.selected().status == "PAUSED")
        assert app.check_action("pause", ()) is False and app.check_action("resume", ()) is True
        assert app.check_action("nudge", ()) is None
        await pilot.press("r")
        await wait_until(pilot, lambda: conv(data, "Which queue backend?").status
                         == "IN-PROGRESS")
    c = conv(data, "Which queue backend?")
    assert [b.action for b in c.blocks[-2:]] == ["pause", "resume"]
    assert c.blocks[-2].body == "lunch"


async def test_close_needs_a_resolution(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        await pilot.press("c")
        await pilot.press("enter")  # an empty resolution
        await wait_until(pilot, lambda: app.screen.query_one("#error").display)
        assert "resolution is empty" in str(app.screen.query_one("#error").render())
        app.screen.query_one(Input).value = "PostgreSQL with SKIP LOCKED"
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, WriteDialog))
        await wait_until(pilot, lambda: app.selected().status == "CLOSED")
        for action in ("set_next", "inject", "pause", "close_conversation", "extend", "nudge"):
            assert not app.check_action(action, ())
    c = conv(data, "Which queue backend?")
    assert c.status == "CLOSED" and c.resolution == "PostgreSQL with SKIP LOCKED"


async def test_extend_and_nudge(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Release date")
        await pilot.press("e")
        app.screen.query_one(Input).value = "lots"
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen.query_one("#error").display)
        app.screen.query_one(Input).value = "4"
        await pilot.press("enter")
        await wait_until(pilot, lambda: conv(data, "Release date").max_turns == 7)
        await select(pilot, app, "Which queue backend?")
        await pilot.press("u")
        await wait_until(pilot, lambda: conv(data, "Which queue backend?").blocks[-1].action
                         == "nudge")


async def test_open_a_conversation_and_it_is_selected(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await pilot.press("o")
        screen = app.screen
        screen.query_one("#topic", Input).value = "Cache eviction"
        screen.query_one("#with", Input).value = "ada, grace"
        screen.query_one("#budget", Input).value = "8"
        screen.query_one("#body", TextArea).insert("LRU or LFU?")
        await pilot.click("#ok")
        await wait_until(pilot, lambda: not isinstance(app.screen, WriteDialog))
        c = conv(data, "Cache eviction")
        assert c.participants == ["ada", "grace"] and c.max_turns == 8 and c.next == ["ada"]
        assert c.opened_by == "moderator" and c.blocks[0].body == "LRU or LFU?"
        await wait_until(pilot, lambda: app.selected_id == c.id)


async def test_copy_filters_and_quick_filter(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Test runner")
        await pilot.press("y")
        assert app.clipboard == conv(data, "Test runner").id
        await pilot.press("Y")
        assert app.clipboard.endswith(".md")
        listing = app.query_one(ConversationList)
        await pilot.press("2")  # live
        assert {app.state.conversation(i).status for i in listing._ids
                if app.state.conversation(i)} == {"IN-PROGRESS"}
        await wait_until(pilot, lambda: "broken-file" in listing._ids)
        assert "broken-file" in listing._ids  # unreadable files show under every filter
        await pilot.press("4")
        assert [i for i in listing._ids if app.state.conversation(i)] == [
            conv(data, "Test runner").id]
        await pilot.press("1", "f")
        for key in "queue":
            await pilot.press(key)
        await pilot.pause()
        assert listing._ids == [conv(data, "Which queue backend?").id]
        await pilot.press("escape")
        assert app.focused is listing


async def test_the_transcript_follows_unless_scrolled_up(data: Root) -> None:
    c = conv(data, "Which queue backend?")
    for i in range(8):  # enough to scroll
        who, other = ("linus", "ada") if i % 2 == 0 else ("ada", "linus")
        ops.run(ops.plan_reply(data, c.id, author=who, next_=[other], body=f"point {i}\n" * 6),
                "h")
    app = make_app(data)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        transcript = app.query_one(Transcript)
        # Markdown lays out over a few frames; under load "follows" must hold once it has
        await wait_until(pilot, lambda: transcript.is_vertical_scroll_end)
        ops.run(moderate.plan_moderate(data, c.id, "inject", moderator="mod", body="first"), "h")
        await wait_until(pilot, lambda: len(transcript.conv.blocks) == 14)
        await wait_until(pilot, lambda: transcript.is_vertical_scroll_end)
        await pilot.pause(0.2)
        assert transcript.is_vertical_scroll_end and transcript.unseen == 0
        transcript.scroll_home(animate=False)
        await pilot.pause()
        ops.run(moderate.plan_moderate(data, c.id, "inject", moderator="mod", body="second"), "h")
        # the count is the widget's; the label follows when the app handles Unseen
        await wait_until(pilot, lambda: transcript.unseen == 1
                         and app.query_one("#unseen").display)
        await pilot.press("end")
        await wait_until(pilot, lambda: transcript.unseen == 0
                         and not app.query_one("#unseen").display)


async def test_needs_you_rises_to_the_top_and_rings_once(data: Root,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(data)
    rings: list[int] = []
    monkeypatch.setattr(app, "bell", lambda: rings.append(1))
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        assert rings == []  # nothing new at start
        c = conv(data, "Which queue backend?")
        ops.run(ops.plan_reply(data, c.id, author="linus", next_=["moderator"], body="stuck"),
                "h")
        await wait_until(pilot, lambda: len(rings) == 1)
        top = app.state.rows()[:2]
        assert {r.id for r in top} == {c.id, conv(data, "Release date").id}
        assert all(r.needs_you for r in top)
        await pilot.pause(0.5)
        assert rings == [1]


async def test_a_long_conversation_mounts_a_window(data: Root) -> None:
    c = conv(data, "Which queue backend?")
    ops.run(moderate.plan_moderate(data, c.id, "extend", moderator="mod", by=200), "h")
    for i in range(120):
        who, other = ("linus", "ada") if i % 2 == 0 else ("ada", "linus")
        ops.run(ops.plan_reply(data, c.id, author=who, next_=[other], body=f"turn {i}"), "h")
    app = make_app(data)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        transcript = app.query_one(Transcript)
        assert len(transcript.query(BlockView)) == WINDOW
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert len(transcript.query(BlockView)) == 2 * WINDOW


def screen_text(app: TalkroomApp) -> str:
    """The characters on screen, as the terminal would get them (styles aside)."""
    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(),
                      force_terminal=True, color_system="truecolor", record=True,
                      legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text(styles=False)


async def test_receipts_and_hostile_text_render_inert(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(140, 50)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        await wait_until(pilot, lambda: app.state.receipts)
        await pilot.pause(0.3)
        shown = screen_text(app)
        assert "delivered to ada on snap-host in 0.7 s" in shown
        assert "deferred: busy (linus on snap-host) → delivered to linus on snap-host in 0.7 s" \
            in shown
        assert "failed: pane gone (linus on far-host)" in shown
        await select(pilot, app, "Hostile \x1b]0;title\x07 topic")
        await pilot.pause(0.3)
        shown = screen_text(app)
        assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
        assert "␛]0;pwned␇" in shown and "␛]0;title␇" in shown
        assert "[bold red]not bold[/]" in shown and "<U+202E>evil" in shown


async def test_the_watcher_runs_inside_and_stops_on_quit(data: Root) -> None:
    before = set(threading.enumerate())
    app = make_app(data, watch=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        assert app.watcher is not None and app.watcher.running
        assert app.watcher_info.running and app.watcher_info.mode == "events"
        assert "watcher ✓ events" in screen_text(app)
    time.sleep(0.2)
    leftover = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert leftover == [], leftover
    beat = (data.host_dir(consoledata.HOST) / "watcher.yaml").read_text()
    assert "stopped at:" in beat


async def test_a_watcher_elsewhere_is_shown_not_replaced(data: Root) -> None:
    from talkroom.watch.hostlock import HostLock

    other = HostLock(consoledata.HOST, data.path)
    other.acquire()
    try:
        app = make_app(data, watch=True)
        async with app.run_test(size=(160, 40)) as pilot:
            await started(pilot, app)
            assert app.watcher is None and app.watcher_info.busy_pid is not None
            assert "elsewhere" in screen_text(app)
    finally:
        other.release()


async def test_changes_arriving_under_an_open_dialog(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        await pilot.press("i")
        c = conv(data, "Which queue backend?")
        ops.run(ops.plan_reply(data, c.id, author="linus", next_=["ada"], body="meanwhile"),
                "h")
        receipt_dir = data.host_dir("other-host")
        from talkroom.core.receipts import Receipt, append_receipt

        append_receipt(data, "other-host", Receipt("other-host", consoledata.NOW, c.id,
                                                   c.blocks[-1].block_id, 9, "ada", "%9",
                                                   "deferred:busy", None))
        await wait_until(pilot, lambda: app.state.conversation(c.id).turns == 5)
        await wait_until(pilot, lambda: app.state.receipts.get((c.id, c.blocks[-1].block_id)))
        assert isinstance(app.screen, WriteDialog) and receipt_dir.exists()
        await pilot.press("escape")
        await wait_until(pilot, lambda: len(app.transcript.conv.blocks) == 6)
        assert app.transcript.conv.blocks[-1].body == "meanwhile"



async def test_a_watcher_that_cannot_start_is_shown_and_the_console_runs_on(
    root: Root, isolated,
) -> None:
    (isolated / "config.yaml").write_text("profiles:\n  claude:\n    submit_dely: 1\n")
    app = make_app(root, watch=True)  # a caller that skipped the command line's check
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await started(pilot, app)
        await wait_until(pilot, lambda: app.watcher_info.error is not None)
        await pilot.pause(0.3)
        assert "submit_dely" in (app.watcher_info.error or "") and app.watcher is None
        assert "submit_dely" in screen_text(app)


async def test_garbage_heartbeats_from_other_hosts_do_not_stop_the_console(data: Root) -> None:
    for host, text in (("empty", ""), ("garbage", "heartbeat: garbage\npid: abc\n"),
                       ("hostile", "heartbeat: \x1b]0;PWNED\x07\u202e\n")):
        folder = data.host_dir(host)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "watcher.yaml").write_text(text)
    app = make_app(data)
    async with app.run_test(size=(160, 40)) as pilot:
        await started(pilot, app)
        await wait_until(pilot, lambda: app.hosts_loaded)
        await pilot.pause(0.2)
        shown = screen_text(app)
        assert "empty ✗ never" in shown and "\x1b" not in shown and "\u202e" not in shown
    assert app.return_code in (None, 0)
