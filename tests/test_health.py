"""Each health rule with a case that triggers it and one that does not; the console's
problems view, one-key fixes and notifications (bell, toast, desktop)."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
from textual.app import App

from talkroom.console.app import TalkroomApp
from talkroom.console.notify import BURST_SECONDS, Notifier
from talkroom.console.screens.finder import PickerScreen
from talkroom.core import clock, config, moderate, ops, store
from talkroom.core.model import Conversation
from talkroom.core.paths import Root
from talkroom.core.receipts import Receipt
from talkroom.core.stale import BrokenLock, Holder, read_broken
from talkroom.health import Facts, problems
from talkroom.watch.heartbeat import Heartbeat
from talkroom.watch.registry import Session
from talkroom.watch.tmux import PaneRef
from tests.test_console import screen_text, settled, started, wait_until, written

T0 = clock.parse_iso("2026-11-21T12:00:00Z")
HOST = "here"


def conversation(
    root: Root, *, waiting_limit: str | None = None, next_: str = "codex"
) -> Conversation:
    plan = ops.plan_open(
        root,
        topic="stuck?",
        opener="moderator",
        with_=["codex", "claude"],
        next_=[next_] if next_ != "moderator" else None,
        moderator="mod",
        waiting_limit=waiting_limit,
        now=T0,
    )
    conv = ops.open_conversation(root, plan, HOST).conv
    if next_ == "moderator":
        ops.run(
            moderate.plan_moderate(
                root, conv.id, "next", moderator="mod", next_=["moderator"], now=T0
            ),
            HOST,
        )
        conv = store.load(root.conversation(conv.id))
    return conv


def session(name: str, host: str = HOST) -> Session:
    return Session(name, host, "claude", PaneRef("/tmp/none", 1, "%1", 2))


def beat(host: str, age: float, stopped: bool = False, now: float = 0.0) -> Heartbeat:
    """A heartbeat `age` seconds old at `now` (read against the real clock otherwise)."""
    fields = {"heartbeat": clock.iso((now or time.time()) - age), "heartbeat interval": "5"}
    if stopped:
        fields["stopped at"] = clock.iso(T0)
    hb = Heartbeat(host, fields)
    return hb


def facts(
    sessions: list[tuple[Session, bool | None]] | None = None,
    beats: list[Heartbeat] | None = None,
    receipts: dict[tuple[str, str], list[Receipt]] | None = None,
    broken: list[BrokenLock] | None = None,
) -> Facts:
    """This host's codex alive and this host's watcher beating (at any `now`: see below)."""
    return Facts(
        HOST,
        sessions if sessions is not None else [(session("codex"), True)],
        beats if beats is not None else [Fresh(HOST)],
        receipts or {},
        broken or [],
        waiting_threshold=600,
        deferred_threshold=120,
    )


class Fresh(Heartbeat):
    """A heartbeat that is always a second old, whatever time the rules ask about."""

    def __init__(self, host: str) -> None:
        super().__init__(host, {"heartbeat interval": "5"})

    def age(self, now: float | None = None) -> float:
        return 1.0


def kinds(conv: Conversation, f: Facts, now: float) -> list[str]:
    return [p.kind for p in problems(conv, f, now)]


def test_waiting_longer_than_the_threshold(root: Root) -> None:
    conv = conversation(root)
    assert kinds(conv, facts(), T0 + 300) == []
    found = problems(conv, facts(), T0 + 660)
    assert [p.kind for p in found] == ["waiting"] and found[0].keys == ("u", "n", "p")
    assert "codex waiting for 11m" in found[0].text


def test_a_conversation_has_its_own_waiting_limit(root: Root) -> None:
    conv = conversation(root, waiting_limit="30m")
    assert conv.header["waiting limit"] == "30m"
    assert kinds(conv, facts(), T0 + 660) == []
    assert kinds(conv, facts(), T0 + 1860) == ["waiting"]


def test_the_moderator_being_next_is_not_a_problem(root: Root) -> None:
    assert kinds(conversation(root, next_="moderator"), facts(), T0 + 99999) == []


def test_next_registered_on_no_host(root: Root) -> None:
    conv = conversation(root)
    found = problems(conv, facts(sessions=[(session("claude"), True)]), T0 + 10)
    assert [p.kind for p in found] == ["unregistered"] and found[0].keys == ("n",)


def test_a_pane_gone_on_this_host_but_not_elsewhere(root: Root) -> None:
    conv = conversation(root)
    assert kinds(conv, facts(sessions=[(session("codex"), False)]), T0 + 10) == ["pane-gone"]
    elsewhere = facts(sessions=[(session("codex", "far"), None)], beats=[Fresh("far")])
    assert kinds(conv, elsewhere, T0 + 10) == []


def test_no_heartbeat_from_the_host_that_owns_next(root: Root) -> None:
    conv = conversation(root)
    far = [(session("codex", "far"), None)]
    now = T0 + 10
    assert kinds(conv, facts(sessions=far, beats=[beat("far", 10, now=now)]), now) == []
    for beats in ([], [beat("far", 16, now=now)], [beat("far", 1, stopped=True, now=now)]):
        found = problems(conv, facts(sessions=far, beats=beats), T0 + 10)
        assert [p.kind for p in found] == ["no-watcher"] and "from far" in found[0].text


def test_a_delivery_deferred_too_long(root: Root) -> None:
    conv = conversation(root)
    aid = conv.blocks[0].block_id or ""

    def receipt(at: float, outcome: str) -> Receipt:
        return Receipt(HOST, clock.iso(at), conv.id, aid, 1, "codex", "%1", outcome, None)

    deferred = {
        (conv.id, aid): [receipt(T0 + 1, "deferred:busy"), receipt(T0 + 100, "deferred:copy mode")]
    }
    found = problems(conv, facts(receipts=deferred), T0 + 200)
    assert [p.kind for p in found] == ["deferred"]
    assert "deferred for 3m: copy mode (on here)" in found[0].text
    assert kinds(conv, facts(receipts=deferred), T0 + 60) == []
    done = {(conv.id, aid): [receipt(T0 + 1, "deferred:busy"), receipt(T0 + 5, "delivered")]}
    assert kinds(conv, facts(receipts=done), T0 + 200) == []


def broken_lock(conv_id: str, at: float, holder: str | None = "box") -> BrokenLock:
    return BrokenLock(
        f".{conv_id}.md.lock.broken.far-host.4242.a1b2c3",
        conv_id,
        "far-host",
        Holder(holder, 77, "2026-11-21T11:58:00Z") if holder else None,
        at,
    )


def test_a_lock_broken_as_stale_is_shown_with_its_host_for_an_hour(root: Root) -> None:
    conv = conversation(root, waiting_limit="24h")
    broken = [broken_lock(conv.id, T0), broken_lock("other", T0)]
    found = problems(conv, facts(broken=broken), T0 + 600)
    assert [p.kind for p in found] == ["stale-lock"]
    # "stopped": a writer whose lock is broken may have crashed or only be paused.
    assert found[0].text == (
        "a write by pid 77 on box since 2026-11-21T11:58:00Z stopped "
        "holding the lock; host far-host broke it 10m ago: check that its "
        "turn landed"
    )
    later = problems(conv, facts(broken=broken), T0 + 1200)
    assert later[0].key == found[0].key and later[0].text != found[0].text  # the same, older
    assert kinds(conv, facts(broken=broken[1:]), T0 + 600) == []
    assert kinds(conv, facts(broken=broken), T0 + 3601) == []  # old news by now
    unwritten = problems(conv, facts(broken=[broken_lock(conv.id, T0, None)]), T0 + 5)
    assert "a write (its holder unknown) stopped" in unwritten[0].text
    ops.run(
        moderate.plan_moderate(root, conv.id, "close", moderator="mod", body="done", now=T0), HOST
    )
    closed = store.load(root.conversation(conv.id))
    assert kinds(closed, facts(broken=broken), T0 + 600) == []


def test_the_broken_lock_record_is_read_from_the_aside_file(root: Root) -> None:
    root.conversations.mkdir(parents=True)
    aside = root.conversations / ".c1.md.lock.broken.far-host.4242.a1b2c3"
    aside.write_text("talkroom-lock host=box pid=77 at=2026-11-21T11:58:00Z nonce=1\n")
    record = read_broken(aside)
    assert record is not None and (record.conv_id, record.breaker) == ("c1", "far-host")
    assert str(record.holder) == "pid 77 on box since 2026-11-21T11:58:00Z"
    assert abs(record.broken_at - time.time()) < 60
    assert read_broken(root.conversations / ".c1.md.lock") is None


def test_text_from_another_host_is_inert_in_a_problem(root: Root) -> None:
    conv = conversation(root)
    aid = conv.blocks[0].block_id or ""
    hostile = {
        (conv.id, aid): [
            Receipt(
                "far\x1b[2J",
                clock.iso(T0 + 1),
                conv.id,
                aid,
                1,
                "codex",
                "%1",
                "deferred:busy\x1b]0;PWNED\x07 \u202eevil",
                None,
            )
        ]
    }
    text = problems(conv, facts(receipts=hostile), T0 + 200)[0].text
    assert "\x1b" not in text and "\u202e" not in text and "PWNED" in text


@pytest.fixture
def stuck(root: Root, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Root:
    """A root where codex has waited 20 minutes, and a fake notify-send on PATH."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setenv("TALKROOM_FAKE_NOW", clock.iso(T0 + 1200))
    conversation(root)
    fake_notify_send(tmp_path, monkeypatch, '"$@"')
    return root


def fake_notify_send(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: str) -> Path:
    """A notify-send on PATH that appends `args` (shell words), one per line, to a file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "notify-send"
    fake.write_text(f"#!/bin/sh\nprintf '%s\\n' {args} >> {tmp_path / 'notified'}\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return tmp_path / "notified"


@pytest.mark.asyncio
async def test_the_console_shows_problems_and_fixes_one_with_a_key(stuck: Root) -> None:
    app = TalkroomApp(stuck, HOST, config.load(env={}), watch=False)
    async with app.run_test(size=(140, 40)) as pilot:
        await started(pilot, app)
        await wait_until(pilot, lambda: app.main.state.problems)
        await settled(pilot)
        shown = screen_text(app)
        assert "⚠ codex waiting for 20m (limit 10m)  u nudge · n set next · p pause" in shown
        assert "codex is registered on no host" in shown
        await pilot.press("P")
        assert isinstance(app.screen, PickerScreen)
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, PickerScreen)
        await pilot.press("u")  # the one-key fix: nudge
        conv_id = app.selected_id
        await written(pilot)
        assert store.load(stuck.conversation(conv_id or "")).blocks[-1].action == "nudge"


@pytest.mark.asyncio
async def test_a_new_problem_rings_toasts_and_notifies_the_desktop_once(
    stuck: Root,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TALKROOM_FAKE_NOW", clock.iso(T0 + 60))  # nothing wrong yet
    app = TalkroomApp(stuck, HOST, config.load(env={}), watch=False)
    rings: list[int] = []
    monkeypatch.setattr(app, "bell", lambda: rings.append(1))
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await started(pilot, app)
        await wait_until(pilot, lambda: app.main.hosts_loaded)
        kinds_now = {p.kind for ps in app.main.state.problems.values() for p in ps}
        assert kinds_now == {"unregistered"}  # there at start: listed, not announced
        assert rings == []
        monkeypatch.setenv("TALKROOM_FAKE_NOW", clock.iso(T0 + 1200))  # 20 min later
        app.main.tick()
        assert rings == [1]
        await app.workers.wait_for_complete()  # notify-send runs in a worker
        assert "codex waiting for 20m" in (tmp_path / "notified").read_text()
        await settled(pilot)
        assert any("codex waiting" in str(n.message) for n in app._notifications)
        app.main.tick()  # the same problem again: not said again
        await settled(pilot)
        assert rings == [1]


@pytest.mark.asyncio
async def test_notifications_are_throttled_per_conversation_and_a_burst_is_summed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notified = fake_notify_send(tmp_path, monkeypatch, '"$3"')  # the text only
    app: App[None] = App()
    rings: list[int] = []
    monkeypatch.setattr(app, "bell", lambda: rings.append(1))
    now = [100.0]
    async with app.run_test(notifications=True) as pilot:
        notifier = Notifier(app, bell=True, desktop=True, throttle=30, clock=lambda: now[0])
        # one host goes quiet under six conversations at once
        assert [notifier(f"c{i}", "problem", f"no heartbeat {i}") for i in range(6)] == [True] * 6
        # The rest of a burst is summed up by a timer of BURST_SECONDS: only time shows it.
        await wait_until(pilot, lambda: len(app._notifications) >= 4, timeout=BURST_SECONDS + 5)
        await app.workers.wait_for_complete()  # notify-send runs in a worker
        toasts = [str(n.message) for n in app._notifications]
        assert toasts == [
            "no heartbeat 0",
            "no heartbeat 1",
            "no heartbeat 2",
            "and 3 more: P lists every problem",
        ]
        assert rings == [1] and notified.read_text() == "no heartbeat 0\n"
        now[0] += 10  # a new burst, but c0 was said 10 s ago
        assert not notifier("c0", "needs you", "again")
        assert notifier("c9", "needs you", "other")
        now[0] += 25  # 35 s after c0 was said
        assert notifier("c0", "needs you", "again") and rings == [1, 1, 1]


@pytest.mark.parametrize("interval", ["inf", "nan", "-5", "1e9", "soon"])
def test_a_heartbeat_interval_from_a_file_cannot_keep_a_dead_host_alive(interval: str) -> None:
    now = T0 + 86400
    hb = Heartbeat("far", {"heartbeat": clock.iso(T0), "heartbeat interval": interval})
    assert not hb.alive(now) and hb.interval <= 3600
