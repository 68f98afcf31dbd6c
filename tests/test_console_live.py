"""The live view: the transcript stays pinned to the end whatever arrives, unless the user
scrolled up; End and G work from any focus; how many conversations need the moderator, and
a key to the next one; replay's Home, End and jump-to-turn."""

from __future__ import annotations

from textual.widgets import Input

from talkroom.console.messages import ConversationsChanged, ReceiptsArrived
from talkroom.console.screens.replay import ReplayScreen
from talkroom.console.widgets.conversation_list import ConversationList
from talkroom.console.widgets.transcript import Transcript
from talkroom.core import moderate, ops, store
from talkroom.core.paths import Root
from talkroom.core.receipts import Receipt
from talkroom.core.store import Snapshot
from tests import consoledata
from tests.consolepilot import conv, make_app, screen_text, select, settled, started, wait_until


def room(data: Root, topic: str) -> str:
    """The conversation with this topic, its budget extended for the turns to come."""
    conv_id = conv(data, topic).id
    ops.run(moderate.plan_moderate(data, conv_id, "extend", moderator="mod", by=40), "h")
    return conv_id


def feed(app, data: Root, conv_id: str, i: int) -> str:
    """One more turn, posted to the main screen as the tailer would post it; returns the
    new block's id."""
    c = store.load(data.conversation(conv_id))
    who = c.next[0]
    other = next(p for p in c.participants if p != who)
    # Bodies of different lengths, some wrapping: the layout changes under the view.
    body = ("a longer line of text that wraps in a narrow pane " * (i % 3 + 1) + "\n") * (i % 4 + 1)
    done = ops.run(ops.plan_reply(data, conv_id, author=who, next_=[other], body=body), "h")
    path = data.conversation(conv_id)
    app.main.post_message(ConversationsChanged([Snapshot(path, store.load(path))], []))
    return done.conv.blocks[-1].block_id


def receipts(conv_id: str, block_id: str, target: str, turn: int) -> ReceiptsArrived:
    """A deferral then a delivery: each one adds a line under the block."""
    return ReceiptsArrived(
        [
            Receipt(
                consoledata.HOST, consoledata.NOW, conv_id, block_id, turn, target, "%1",
                "deferred:busy", None,
            ),
            Receipt(
                consoledata.HOST, consoledata.NOW, conv_id, block_id, turn, target, "%1",
                "delivered", 600,
            ),
        ]
    )  # fmt: skip


async def test_the_transcript_stays_pinned_to_the_end_whatever_arrives(data: Root) -> None:
    # The demo's slip: turns and receipts arriving, no key pressed, and after a while
    # "1 new: press End" although the user never scrolled.
    conv_id = room(data, "Which queue backend?")
    app = make_app(data)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        await settled(pilot)
        transcript = app.query_one(Transcript)
        for i in range(12):
            block_id = feed(app, data, conv_id, i)
            await pilot.pause()
            target = store.load(data.conversation(conv_id)).next[0]
            app.main.post_message(receipts(conv_id, block_id, target, i))
            await settled(pilot)
            assert transcript.unseen == 0, f"turn {i}: the view slipped"
            assert not app.query_one("#unseen").display
            assert transcript.is_vertical_scroll_end, f"turn {i}: not at the end"


async def test_scrolled_up_it_counts_and_end_from_the_list_jumps_back(data: Root) -> None:
    conv_id = room(data, "Which queue backend?")
    app = make_app(data)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        for i in range(6):
            feed(app, data, conv_id, i)
            await settled(pilot)
        transcript = app.query_one(Transcript)
        listing = app.query_one(ConversationList)
        assert transcript.max_scroll_y > 0 and transcript.is_vertical_scroll_end
        transcript.scroll_home(animate=False)  # the user reads back
        await settled(pilot)
        feed(app, data, conv_id, 6)
        await settled(pilot)
        assert transcript.unseen == 1 and app.query_one("#unseen").display
        assert transcript.scroll_y == 0  # what the user reads stays put
        assert app.focused is listing  # the default focus
        selected = app.selected_id
        await pilot.press("end")
        await settled(pilot)
        assert transcript.unseen == 0 and transcript.is_vertical_scroll_end
        assert app.selected_id == selected  # the list's own End did not move the selection
        transcript.scroll_home(animate=False)
        await settled(pilot)
        await pilot.press("G")
        await settled(pilot)
        assert transcript.is_vertical_scroll_end
        # In the filter box, End and G are the box's own: G is typed, End moves the cursor.
        await pilot.press("f", "G")
        assert isinstance(app.focused, Input) and app.focused.value == "G"
        await pilot.press("home", "end")
        assert app.focused.cursor_position == 1


async def test_how_many_need_you_and_a_key_to_the_next(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(160, 40)) as pilot:
        await started(pilot, app)
        release = conv(data, "Release date")  # next is the moderator
        assert app.main.state.needing == {release.id}
        await settled(pilot)
        assert "● 1 needs you (N)" in screen_text(app)
        queue = conv(data, "Which queue backend?")
        ops.run(
            ops.plan_reply(data, queue.id, author="linus", next_=["moderator"], body="stuck"), "h"
        )
        await wait_until(pilot, lambda: len(app.main.state.needing) == 2)
        await settled(pilot)
        assert "● 2 need you (N)" in screen_text(app)
        await pilot.press("4")  # closed only: N finds them anyway
        await pilot.press("N")
        first = app.selected_id
        await pilot.press("N")
        second = app.selected_id
        assert {first, second} == {release.id, queue.id}
        await pilot.press("N")
        assert app.selected_id == first  # round again
        await select(pilot, app, "Release date")
        await pilot.press("c")
        await pilot.press(*"Monday it is")
        await pilot.press("tab", *"close", "enter")
        await wait_until(pilot, lambda: app.main.state.needing == {queue.id})
        await settled(pilot)
        assert "● 1 needs you (N)" in screen_text(app)


async def test_replay_home_end_and_the_jump_input(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        await pilot.press("R")
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        last = len(screen.timeline.steps) - 1
        screen.transcript.focus()  # where focus lands after a jump: scrolling keys there
        await pilot.press("end")
        assert screen.index == last
        await pilot.press("home")
        assert screen.index == 0
        await pilot.press("t")
        await settled(pilot)
        jump = screen.jump_input
        footer = screen.query_one("Footer")
        assert jump.display and app.focused is jump
        assert jump.region.height >= 1 and screen.region.contains_region(jump.region)
        assert not jump.region.overlaps(footer.region), "the jump input is under the footer"
        await pilot.press("3", "enter")
        await settled(pilot)
        assert screen.timeline.steps[screen.index].state.turns == 3
        assert not jump.display
