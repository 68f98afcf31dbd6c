"""Replay: the timeline, the header as it was at each step, stepping and playing in the
console, an older cross-session-talk file, and a conversation that grows meanwhile."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from talkroom.console.app import TalkroomApp
from talkroom.console.screens.replay import ReplayScreen
from talkroom.console.widgets.transcript import BlockView
from talkroom.core import clock, config, moderate, ops, store
from talkroom.core.codec import parse
from talkroom.core.paths import Root
from talkroom.core.receipts import Receipt
from talkroom.replay.timeline import Timeline
from tests import consoledata
from tests.test_codec import LEGACY
from tests.test_console import conv, screen_text, settled, started, wait_until
from tests.test_snapshots import steady_cursors


def receipts_of(root: Root, conv_id: str) -> list[Receipt]:
    from talkroom.core.receipts import ReceiptTail

    return [r for r in ReceiptTail(root).poll() if r.conversation == conv_id]


def test_the_timeline_holds_every_block_and_receipt_in_order(data: Root) -> None:
    c = conv(data, "Which queue backend?")
    timeline = Timeline(c, receipts_of(data, c.id))
    kinds = [(s.kind, s.blocks) for s in timeline.steps]
    assert kinds == [
        ("block", 1),
        ("receipt", 1),
        ("block", 2),
        ("receipt", 2),
        ("receipt", 2),
        ("block", 3),
        ("block", 4),
        ("block", 5),
        ("receipt", 5),
    ]
    states = [
        (s.state.status, s.state.next, s.state.turns) for s in timeline.steps if s.kind == "block"
    ]
    assert states == [
        ("IN-PROGRESS", ["ada"], 1),
        ("IN-PROGRESS", ["linus"], 2),
        ("IN-PROGRESS", ["ada"], 3),
        ("IN-PROGRESS", ["ada"], 3),
        ("IN-PROGRESS", ["linus"], 4),
    ]
    deferred = timeline.steps[3]
    assert deferred.receipt is not None and deferred.receipt.outcome == "deferred:busy"
    assert deferred.at - deferred.state.waiting_since == 1  # linus waited 1 s by then
    assert timeline.step_of_turn(3) == 5


def test_states_follow_pause_resume_extend_and_close(data: Root) -> None:
    c = conv(data, "Release date")
    for action, kwargs in (
        ("pause", {"body": "later"}),
        ("resume", {}),
        ("extend", {"by": 2}),
        ("close", {"body": "Monday"}),
    ):
        ops.run(moderate.plan_moderate(data, c.id, action, moderator="mod", **kwargs), "h")
    timeline = Timeline(store.load(data.conversation(c.id)), [])
    last_five = [
        (s.state.status, s.state.max_turns, s.state.paused_reason, s.state.resolution, s.state.next)
        for s in timeline.steps[-5:]
    ]
    assert last_five == [
        ("IN-PROGRESS", 3, None, None, ["moderator"]),
        ("PAUSED", 3, "later", None, ["moderator"]),
        ("IN-PROGRESS", 3, None, None, ["moderator"]),
        ("IN-PROGRESS", 5, None, None, ["moderator"]),
        ("CLOSED", 5, None, "Monday", []),
    ]


def test_an_agent_closing_with_its_reply_shows_closed(data: Root) -> None:
    c = conv(data, "Test runner")
    last = Timeline(c, []).steps[-1].state
    assert (last.status, last.resolution) == ("CLOSED", "pytest, with pytest-xdist later")


def test_an_older_cross_session_talk_file_replays() -> None:
    older = parse(LEGACY, "old")
    timeline = Timeline(older, [])
    assert [s.state.turns for s in timeline.steps] == [1, 2]
    assert [s.state.next for s in timeline.steps] == [["session-b"], ["session-a"]]
    assert timeline.steps[0].at == clock.parse_loose("2026-05-27 16:22")
    assert timeline.steps[1].state.max_turns == 10


async def open_replay(pilot: Pilot, app: TalkroomApp, topic: str) -> ReplayScreen:
    await started(pilot, app)
    app.main.listing.select_id(conv(app.root, topic).id)
    await pilot.pause()
    await pilot.press("R")
    await pilot.pause()
    assert isinstance(app.screen, ReplayScreen)
    return app.screen  # type: ignore[return-value]


def make_app(root: Root) -> TalkroomApp:
    return TalkroomApp(root, consoledata.HOST, config.load(env={}), watch=False, moderator="mod")


@pytest.mark.asyncio
async def test_stepping_through_in_the_console(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        replay = await open_replay(pilot, app, "Which queue backend?")
        assert replay.index == 0 and len(replay.transcript.query(BlockView)) == 1
        assert "turn 1/12" in screen_text(app) and "delivered to" not in screen_text(app)
        await pilot.press("right")
        assert "delivered to ada on snap-host in 0.7 s" in screen_text(app)
        for _ in range(3):
            await pilot.press("right")
        await pilot.pause()
        assert replay.index == 4 and len(replay.transcript.query(BlockView)) == 2
        shown = screen_text(app)
        assert "deferred: busy (linus on snap-host) → delivered to linus" in shown
        await pilot.press("left", "left")
        await pilot.pause()
        assert replay.index == 2 and "deferred: busy" not in screen_text(app)
        await pilot.press("t")
        for key in "3":
            await pilot.press(key)
        await pilot.press("enter")
        await pilot.pause()
        assert replay.index == 5 and len(replay.transcript.query(BlockView)) == 3
        await pilot.press("end")
        assert replay.index == 8
        await pilot.press("home")
        assert replay.index == 0
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ReplayScreen)


@pytest.mark.asyncio
async def test_playing_fast_reaches_the_end_and_stops(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        replay = await open_replay(pilot, app, "Which queue backend?")
        await pilot.press("s", "s")  # real -> 1/s -> fast
        assert replay.speed == "fast"
        await pilot.press("space")
        # The player keeps its own clock in a thread: only waiting shows where it got to.
        await wait_until(pilot, lambda: replay.index == len(replay.timeline) - 1)
        await wait_until(pilot, lambda: not replay.player.playing)
        assert len(replay.transcript.query(BlockView)) == 5
        await pilot.press("space")  # at the end: plays again from the start
        await wait_until(pilot, lambda: replay.player.playing or replay.index > 0)
        await pilot.press("escape")


@pytest.mark.asyncio
async def test_a_conversation_that_grows_during_replay_extends_it(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        replay = await open_replay(pilot, app, "Which queue backend?")
        before = len(replay.timeline)
        c = conv(data, "Which queue backend?")
        ops.run(ops.plan_reply(data, c.id, author="linus", next_=["ada"], body="late turn"), "h")
        await wait_until(pilot, lambda: len(replay.timeline) == before + 1)
        assert replay.index == 0  # the position is kept
        await pilot.press("end")
        assert "late turn" in screen_text(app)


def replay_at(step: int) -> object:
    async def before(pilot: Pilot) -> None:
        app = pilot.app
        assert isinstance(app, TalkroomApp)
        await open_replay(pilot, app, "Which queue backend?")
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        screen.go(step)
        await settled(pilot)
        steady_cursors(app)
        await pilot.pause()

    return before


@pytest.mark.parametrize("step", [0, 4, 8])
def test_replay_snapshots(
    step: int, isolated: Path, monkeypatch: pytest.MonkeyPatch, snap_compare
) -> None:
    app = make_app(consoledata.build_at_home(isolated, monkeypatch))
    assert snap_compare(app, terminal_size=(120, 34), run_before=replay_at(step))


def test_talkroom_replay_of_a_missing_conversation_is_one_line(root: Root) -> None:
    from tests.conftest import run_talkroom

    result = run_talkroom("--root", str(root.path), "replay", "nope")
    assert result.returncode == 3 and result.stderr.decode().count("\n") == 1
