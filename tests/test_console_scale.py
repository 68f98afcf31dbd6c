"""The conversation list at scale, under Textual's Pilot on real files: only the rows on
screen are built, a change moves and redraws its own row, the order and the selection
hold across changes, keys and clicks select, a tick and a change cost the rows they touch,
and the first look comes in chunks, newest first, without announcing anything."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator

import pytest

from talkroom.console import tailer
from talkroom.console.screens.main import MainScreen
from talkroom.console.screens.view import ConsoleView
from talkroom.console.state import Row
from talkroom.console.widgets import rows as row_drawing
from talkroom.console.widgets.conversation_list import ConversationList
from talkroom.core import clock, moderate, ops
from talkroom.core.codec import render
from talkroom.core.model import Block, Conversation
from talkroom.core.paths import Root
from tests.consolepilot import make_app, screen_text, settled, started, wait_until

SMALL = (80, 24)
TICK = ConsoleView.tick  # the screen's own: the `drawn` fixture stops the periodic one


def make(root: Root, count: int, needs: tuple[int, ...] = ()) -> list[str]:
    """`count` conversations of three turns, conversation i active i minutes after the
    first (so the newest is the last); those in `needs` wait on the moderator."""
    root.conversations.mkdir(parents=True, exist_ok=True)
    start = clock.now() - 30 * 86400  # every wait reads in days: a test takes no day
    ids = []
    for i in range(count):
        at = clock.iso(start + 60 * i)
        nxt = "moderator" if i in needs else "ada"
        blocks = [
            Block(kind, who, at, f"turn {t}", f"{t:04d}-{i:06d}", turn=t + 1, budget=40, next=[n])
            for t, (kind, who, n) in enumerate(
                [("Opening", "ada", "linus"), ("Reply", "linus", "ada"), ("Reply", "ada", nxt)]
            )
        ]
        header = {
            "topic": f"topic {i:04d}",
            "opened by": "ada",
            "participants": "ada, linus",
            "status": "IN-PROGRESS",
            "turns": "3",
            "max turns": "40",
            "next": nxt,
            "revision": "3",
            "opened at": at,
            "updated at": at,
        }
        conv_id = f"c{i:05d}"
        path = root.conversations / f"{conv_id}.md"
        path.write_bytes(render(Conversation(conv_id, header, blocks)))
        os.utime(path, (start + 60 * i, start + 60 * i))
        ids.append(conv_id)
    return ids


def reply(root: Root, conv_id: str, nxt: str = "linus", body: str = "more") -> None:
    """A real turn by ada."""
    ops.run(ops.plan_reply(root, conv_id, author="ada", next_=[nxt], body=body), "test")


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The conversations whose row text was built, in order; the periodic tick is off
    (a test calls it), so what is counted is what the test did."""
    built: list[str] = []
    real = row_drawing.row_text

    def counting(row: Row, now: float, width: int = 0) -> object:
        built.append(row.id)
        return real(row, now, width)

    monkeypatch.setattr(row_drawing, "row_text", counting)
    monkeypatch.setattr(ConsoleView, "tick", lambda self: None)
    yield built


def list_side(app) -> list[str]:  # type: ignore[no-untyped-def]
    """The topics on the list's side of the screen, top to bottom."""
    lines = [line.split("▕")[0] for line in screen_text(app).splitlines()]
    return [m.group(0) for line in lines if (m := re.search(r"topic \d{4}", line))]


def shown_rows(listing: ConversationList) -> int:
    return listing.scrollable_content_region.height // 2


async def listed(pilot, app, count: int) -> None:  # type: ignore[no-untyped-def]
    await started(pilot, app)
    await wait_until(pilot, lambda: app.main.listing.count == count)
    await settled(pilot)


async def test_only_the_rows_on_screen_are_built_and_scrolling_shows_the_right_ones(
    root: Root, drawn: list[str]
) -> None:
    make(root, 300)
    app = make_app(root)
    async with app.run_test(size=SMALL) as pilot:
        await listed(pilot, app, 300)
        listing = app.main.listing
        rows = shown_rows(listing)
        assert 5 <= rows < 20
        assert len(set(drawn)) <= rows + 1  # not 300
        assert set(drawn) <= set(listing.ids[: rows + 1])
        drawn.clear()
        listing.scroll_to(y=2 * 120, animate=False)
        await settled(pilot)
        assert drawn and set(drawn) <= set(listing.ids[120 : 120 + rows + 1])
        # The list's side of the screen (the header on the right names the selected one).
        text = "\n".join(line.split("▕")[0] for line in screen_text(app).splitlines())
        topic = app.main.state.conversation(listing.ids[120]).topic
        assert topic in text
        assert app.main.state.conversation(listing.ids[119]).topic not in text
        assert app.main.state.conversation(listing.ids[0]).topic not in text


async def test_a_change_moves_and_redraws_its_own_row_only(root: Root, drawn: list[str]) -> None:
    ids = make(root, 200)
    app = make_app(root)
    async with app.run_test(size=SMALL) as pilot:
        await listed(pilot, app, 200)
        listing = app.main.listing
        selected = listing.selected_id
        assert selected == ids[-1]  # the newest, first in the list
        target = listing.ids[3]
        drawn.clear()
        reply(root, target)
        await wait_until(pilot, lambda: listing.ids[0] == target)
        await settled(pilot)
        assert drawn == [target]  # the others moved down a row, drawn as they were
        assert listing.selected_id == selected and listing.highlighted == 1
        assert app.main.transcript.conv.id == selected  # nothing else was shown


async def test_the_order_is_needs_you_first_then_newest_after_any_changes(root: Root) -> None:
    ids = make(root, 60, needs=(5, 30))
    app = make_app(root)
    async with app.run_test(size=SMALL) as pilot:
        await listed(pilot, app, 60)
        listing, state = app.main.listing, app.main.state
        assert listing.ids[:2] == [ids[30], ids[5]]
        reply(root, ids[10], nxt="moderator")  # now needs you, and is the newest
        reply(root, ids[20])  # among the newest that do not
        plan = moderate.plan_moderate(root, ids[30], "next", moderator="mod", next_=["linus"])
        ops.run(plan, "test")  # no longer needs you
        await wait_until(pilot, lambda: listing.ids[:2] == [ids[10], ids[5]])
        # Written in the same second: equally new, so in id order.
        await wait_until(pilot, lambda: listing.ids[2:4] == [ids[20], ids[30]])
        assert listing.ids == [row.id for row in state.rows()]  # as a whole sort says
        # And the screen shows them so, once the burst's moves are drawn.
        topics = [state.conversation(i).topic for i in listing.ids[:5]]
        await wait_until(pilot, lambda: list_side(app)[: len(topics)] == topics)


async def test_the_selection_stays_on_its_conversation_when_rows_move(root: Root) -> None:
    ids = make(root, 80)
    app = make_app(root)
    async with app.run_test(size=SMALL) as pilot:
        await listed(pilot, app, 80)
        listing = app.main.listing
        listing.select_id(ids[50])
        await settled(pilot)
        before = listing.highlighted
        for conv_id in (ids[10], ids[20], ids[79 - 3]):  # all below it: they move above
            reply(root, conv_id)
        moved = {ids[10], ids[20], ids[76]}
        await wait_until(pilot, lambda: set(listing.ids[:3]) == moved)
        assert listing.selected_id == ids[50] and listing.highlighted == before + 2
        assert app.main.transcript.conv.id == ids[50]
        # The conversation itself changing moves it up among the newest, still selected.
        reply(root, ids[50])
        await wait_until(pilot, lambda: ids[50] in listing.ids[:4])
        assert listing.selected_id == ids[50]
        assert listing.ids[listing.highlighted or 0] == ids[50]


async def test_keys_and_clicks_select_and_the_transcript_follows(root: Root) -> None:
    ids = make(root, 40)
    newest_first = list(reversed(ids))
    app = make_app(root)
    async with app.run_test(size=SMALL) as pilot:
        await listed(pilot, app, 40)
        listing = app.main.listing
        assert app.focused is listing and listing.selected_id == newest_first[0]
        await pilot.press("down", "down")
        assert listing.selected_id == newest_first[2]
        await pilot.press("up")
        assert listing.selected_id == newest_first[1]
        await pilot.press("pagedown")
        assert listing.selected_id == newest_first[1 + shown_rows(listing)]
        # End belongs to the transcript from any focus (its newest block): the list's
        # last row is its own action.
        listing.action_last()
        assert listing.selected_id == newest_first[-1]
        await pilot.press("pageup")
        assert listing.selected_id == newest_first[-1 - shown_rows(listing)]
        await pilot.press("home")
        assert listing.selected_id == newest_first[0]
        await settled(pilot)
        await pilot.click(ConversationList, offset=(6, 2 * 3 + 1))
        await settled(pilot)
        assert listing.selected_id == newest_first[3]
        assert app.main.transcript.conv.id == newest_first[3]


async def test_a_tick_redraws_the_rows_on_screen_whose_time_reads_differently(
    root: Root, drawn: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make(root, 300)
    app = make_app(root)
    async with app.run_test(size=SMALL) as pilot:
        await listed(pilot, app, 300)
        listing = app.main.listing
        drawn.clear()
        TICK(app.main)  # what the screen does every few seconds: no wait reads otherwise yet
        await settled(pilot)
        assert drawn == []
        monkeypatch.setenv("TALKROOM_FAKE_NOW", str(clock.now() + 7 * 86400))  # a week on
        TICK(app.main)
        await settled(pilot)
        rows = shown_rows(listing)
        assert 0 < len(drawn) <= rows + 1  # every row waits a week more; the ones shown
        assert set(drawn) <= set(listing.ids[: rows + 1])


async def test_problems_are_worked_out_for_what_changed(
    root: Root, monkeypatch: pytest.MonkeyPatch
) -> None:
    from talkroom.console import state as state_module

    ids = make(root, 150)
    looked_at: list[str] = []
    real: Callable[..., object] = state_module.problems

    def counting(conv: Conversation, *args: object) -> object:
        looked_at.append(conv.id)
        return real(conv, *args)

    monkeypatch.setattr(state_module, "problems", counting)
    app = make_app(root)
    async with app.run_test(size=SMALL) as pilot:
        await listed(pilot, app, 150)
        main = app.main
        await wait_until(pilot, lambda: not main.state.problems_pending)
        # ada is registered nowhere: every conversation waiting on it has a problem.
        assert len(main.state.problems) == 150 and sorted(set(looked_at)) == sorted(ids)
        looked_at.clear()
        main.tick()
        assert looked_at == []  # nothing changed, nothing came due
        reply(root, ids[7])
        await wait_until(pilot, lambda: main.listing.ids[0] == ids[7])
        await settled(pilot)
        assert looked_at == [ids[7]]
        assert ids[7] in main.state.problems  # linus is registered nowhere either


async def test_the_first_look_comes_in_chunks_newest_first_and_says_nothing(
    root: Root, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = make(root, 30, needs=(2, 25))
    monkeypatch.setattr(tailer, "FIRST_CHUNK", 4)
    monkeypatch.setattr(tailer, "NEXT_CHUNKS", 10)
    chunks: list[list[str]] = []
    handler = MainScreen.on_conversations_changed

    def recording(self: MainScreen, message: object) -> None:
        chunks.append([s.conv_id for s in message.updates])  # type: ignore[attr-defined]
        handler(self, message)  # type: ignore[arg-type]

    monkeypatch.setattr(MainScreen, "on_conversations_changed", recording)
    app = make_app(root)
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        await listed(pilot, app, 30)
        await wait_until(pilot, lambda: not app.main.state.problems_pending)
        assert sorted(chunks[0]) == sorted(ids[-4:])  # the newest files first
        assert sum(len(c) for c in chunks) == 30 and len(chunks) >= 4
        assert app.main.listing.ids[:2] == [ids[25], ids[2]]
        assert app.main.state.needing == {ids[2], ids[25]}
        assert list(app._notifications) == []  # what was there at start is not news
        reply(root, ids[0], nxt="moderator")  # this is
        await wait_until(pilot, lambda: app.main.listing.ids[0] == ids[0])
        await wait_until(pilot, lambda: len(app._notifications) == 1)
