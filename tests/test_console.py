"""The console under Textual's Pilot: every action, asserted on the file and on the widgets."""

from __future__ import annotations

import threading

import pytest
from textual.widgets import Input, SelectionList, TextArea

from talkroom.console.screens.dialogs import WriteDialog
from talkroom.console.widgets.conversation_list import ConversationList
from talkroom.console.widgets.transcript import WINDOW, BlockView, Transcript
from talkroom.core import moderate, ops
from talkroom.core.paths import Root
from tests import consoledata

# Other suites drive the console with these too.
from tests.consolepilot import (
    conv,
    make_app,
    screen_text,
    select,
    settled,
    started,
    wait_until,
    written,
)


async def test_starts_on_the_most_recently_active_conversation(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        rows = app.main.state.rows()
        assert rows[0].needs_you and rows[0].conv.topic == "Release date"
        assert app.main.selected().topic.startswith("Hostile")  # opened last
        listing = app.query_one(ConversationList)
        # A file that does not parse is called unreadable once it stays so for a second.
        await wait_until(pilot, lambda: "broken-file" in listing.ids)
        assert len(listing.ids) == 6 and listing.ids[1] == "broken-file"
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
        await written(pilot)
        assert not isinstance(app.screen, WriteDialog)
        c = conv(data, "Which queue backend?")
        assert c.next == ["ada", "moderator"] and c.blocks[-1].action == "next"
        # The transcript follows once the tailer has seen the file change.
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
        ops.run(
            moderate.plan_moderate(data, c.id, "close", moderator="other", body="elsewhere"),
            "other-host",
        )
        await pilot.press("ctrl+s")
        await written(pilot)
        assert app.screen.query_one("#error").display
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
        await written(pilot)
        assert not isinstance(app.screen, WriteDialog)
    c = conv(data, "Which queue backend?")
    assert c.blocks[-1].action == "inject" and c.blocks[-1].body == "Summarise, please."
    assert c.next == ["ada"]


async def test_pause_resume_and_the_actions_that_apply(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        main = app.main
        assert main.check_action("pause", ()) is True
        assert main.check_action("resume", ()) is False
        await pilot.press("p")
        app.screen.query_one(Input).value = "lunch"
        await pilot.press("enter")
        await written(pilot)
        assert conv(data, "Which queue backend?").status == "PAUSED"
        await wait_until(pilot, lambda: main.selected().status == "PAUSED")  # the tailer
        assert main.check_action("pause", ()) is False
        assert main.check_action("resume", ()) is True
        assert main.check_action("nudge", ()) is None
        await pilot.press("r")
        await written(pilot)
        assert conv(data, "Which queue backend?").status == "IN-PROGRESS"
    c = conv(data, "Which queue backend?")
    assert [b.action for b in c.blocks[-2:]] == ["pause", "resume"]
    assert c.blocks[-2].body == "lunch"


async def test_close_needs_a_resolution(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        await pilot.press("c")
        await pilot.press("enter", "c", "l", "o", "s", "e", "enter")  # an empty resolution
        await written(pilot)
        assert app.screen.query_one("#error").display
        assert "say what was decided" in str(app.screen.query_one("#error").render())
        app.screen.query_one("#resolution", Input).value = "PostgreSQL with SKIP LOCKED"
        await pilot.press("enter")
        await written(pilot)
        assert not isinstance(app.screen, WriteDialog)
        await wait_until(pilot, lambda: app.main.selected().status == "CLOSED")  # the tailer
        for action in ("set_next", "inject", "pause", "close_conversation", "extend", "nudge"):
            assert not app.main.check_action(action, ())
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
        await pilot.pause()  # refused before any write: not a number
        assert app.screen.query_one("#error").display
        app.screen.query_one(Input).value = "4"
        await pilot.press("enter")
        await written(pilot)
        assert conv(data, "Release date").max_turns == 7
        await select(pilot, app, "Which queue backend?")
        await pilot.press("u")
        await written(pilot)
        assert conv(data, "Which queue backend?").blocks[-1].action == "nudge"


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
        await written(pilot)
        assert not isinstance(app.screen, WriteDialog)
        c = conv(data, "Cache eviction")
        assert c.participants == ["ada", "grace"] and c.max_turns == 8 and c.next == ["ada"]
        assert c.opened_by == "moderator" and c.blocks[0].body == "LRU or LFU?"
        await wait_until(pilot, lambda: app.selected_id == c.id)  # once the tailer has seen it


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
        state = app.main.state
        await pilot.press("2")  # live
        assert {state.conversation(i).status for i in listing.ids if state.conversation(i)} == {
            "IN-PROGRESS"
        }
        await wait_until(pilot, lambda: "broken-file" in listing.ids)
        assert "broken-file" in listing.ids  # unreadable files show under every filter
        await pilot.press("4")
        assert [i for i in listing.ids if state.conversation(i)] == [conv(data, "Test runner").id]
        await pilot.press("1", "f")
        for key in "queue":
            await pilot.press(key)
        await pilot.pause()
        assert listing.ids == [conv(data, "Which queue backend?").id]
        await pilot.press("escape")
        assert app.focused is listing


async def test_the_transcript_follows_unless_scrolled_up(data: Root) -> None:
    c = conv(data, "Which queue backend?")
    for i in range(8):  # enough to scroll
        who, other = ("linus", "ada") if i % 2 == 0 else ("ada", "linus")
        ops.run(ops.plan_reply(data, c.id, author=who, next_=[other], body=f"point {i}\n" * 6), "h")
    app = make_app(data)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        transcript = app.query_one(Transcript)
        # Markdown lays out over a few refreshes, and no one message says it is done;
        # under load "follows" must hold once it has.
        await wait_until(pilot, lambda: transcript.is_vertical_scroll_end)
        ops.run(moderate.plan_moderate(data, c.id, "inject", moderator="mod", body="first"), "h")
        await wait_until(pilot, lambda: len(transcript.conv.blocks) == 14)
        await wait_until(pilot, lambda: transcript.is_vertical_scroll_end)
        await pilot.wait_for_scheduled_animations()
        assert transcript.is_vertical_scroll_end and transcript.unseen == 0
        transcript.scroll_home(animate=False)
        await pilot.pause()
        ops.run(moderate.plan_moderate(data, c.id, "inject", moderator="mod", body="second"), "h")
        # the count is the widget's; the label follows when the app handles Unseen
        await wait_until(pilot, lambda: transcript.unseen == 1 and app.query_one("#unseen").display)
        await pilot.press("end")
        await wait_until(
            pilot, lambda: transcript.unseen == 0 and not app.query_one("#unseen").display
        )


async def test_needs_you_rises_to_the_top_and_rings_once(
    data: Root, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(data)
    rings: list[int] = []
    monkeypatch.setattr(app, "bell", lambda: rings.append(1))
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        assert rings == []  # nothing new at start
        c = conv(data, "Which queue backend?")
        ops.run(ops.plan_reply(data, c.id, author="linus", next_=["moderator"], body="stuck"), "h")
        await wait_until(pilot, lambda: len(rings) == 1)
        top = app.main.state.rows()[:2]
        assert {r.id for r in top} == {c.id, conv(data, "Release date").id}
        assert all(r.needs_you for r in top)
        # Only time shows it rings once: half a second is several looks of the tailer.
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


async def test_receipts_and_hostile_text_render_inert(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(140, 50)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        await wait_until(pilot, lambda: app.main.state.receipts)
        await settled(pilot)
        shown = screen_text(app)
        assert "delivered to ada on snap-host in 0.7 s" in shown
        assert (
            "deferred: busy (linus on snap-host) → delivered to linus on snap-host in 0.7 s"
            in shown
        )
        assert "failed: pane gone (linus on far-host)" in shown
        await select(pilot, app, "Hostile \x1b]0;title\x07 topic")
        await settled(pilot)
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
        ops.run(ops.plan_reply(data, c.id, author="linus", next_=["ada"], body="meanwhile"), "h")
        receipt_dir = data.host_dir("other-host")
        from talkroom.core.receipts import Receipt, append_receipt

        append_receipt(
            data,
            "other-host",
            Receipt(
                "other-host",
                consoledata.NOW,
                c.id,
                c.blocks[-1].block_id,
                9,
                "ada",
                "%9",
                "deferred:busy",
                None,
            ),
        )
        state = app.main.state
        await wait_until(pilot, lambda: state.conversation(c.id).turns == 5)
        await wait_until(pilot, lambda: state.receipts.get((c.id, c.blocks[-1].block_id)))
        assert isinstance(app.screen, WriteDialog) and receipt_dir.exists()
        await pilot.press("escape")
        await wait_until(pilot, lambda: len(app.transcript.conv.blocks) == 6)
        assert app.transcript.conv.blocks[-1].body == "meanwhile"


async def test_a_watcher_that_cannot_start_is_shown_and_the_console_runs_on(
    root: Root,
    isolated,
) -> None:
    (isolated / "config.yaml").write_text("profiles:\n  claude:\n    submit_dely: 1\n")
    app = make_app(root, watch=True)  # a caller that skipped the command line's check
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await started(pilot, app)  # the watcher is started after the first refresh
        await settled(pilot)
        assert "submit_dely" in (app.watcher_info.error or "") and app.watcher is None
        assert "submit_dely" in screen_text(app)


async def test_garbage_heartbeats_from_other_hosts_do_not_stop_the_console(data: Root) -> None:
    for host, text in (
        ("empty", ""),
        ("garbage", "heartbeat: garbage\npid: abc\n"),
        ("hostile", "heartbeat: \x1b]0;PWNED\x07\u202e\n"),
    ):
        folder = data.host_dir(host)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "watcher.yaml").write_text(text)
    app = make_app(data)
    async with app.run_test(size=(160, 40)) as pilot:
        await started(pilot, app)
        await wait_until(pilot, lambda: app.main.hosts_loaded)
        await settled(pilot)
        shown = screen_text(app)
        assert "empty ✗ never" in shown and "\x1b" not in shown and "\u202e" not in shown
    assert app.return_code in (None, 0)
