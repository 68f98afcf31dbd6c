"""Two "hosts" sharing one talk root over a real network filesystem: an sshd on 127.0.0.1
and the same export mounted twice with sshfs (no cross-mount locking, stale stat, 1 s
mtimes, EPERM from a lost O_EXCL race). Nothing may be lost, doubled or torn."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from talkroom.core import moderate, ops, stale, store
from talkroom.core.codec import parse
from talkroom.core.paths import Root
from talkroom.watch import registry
from talkroom.watch.detect import is_network
from tests.conftest import Talk
from tests.faults import kill_writers_at_random
from tests.netfs import SshfsPair
from tests.test_concurrency import census, hammer
from tests.tmuxlib import TmuxServer, agent, wait_for, wait_idle_prompt

pytestmark = pytest.mark.netfs
HERE = Path(__file__).parent


def open_on(root: Root, writers: list[str], budget: int, host: str = "host-a") -> str:
    plan = ops.plan_open(
        root,
        topic="shared",
        opener="moderator",
        with_=writers,
        next_=["all"],
        max_turns=budget,
        body="go",
        moderator="mod",
    )
    return ops.open_conversation(root, plan, host).conv.id


def test_the_mounts_are_network_filesystems(shared: tuple[Root, Root]) -> None:
    a, b = shared
    assert is_network(a.path) and is_network(b.path)
    (a.path / "probe").write_text("seen")
    wait_for(lambda: (b.path / "probe").exists(), 5, what="mount 2 to see mount 1's file")


def test_eight_writers_over_two_mounts_lose_nothing_and_readers_see_no_tear(
    shared: tuple[Root, Root],
    tmp_path: Path,
) -> None:
    a, b = shared
    writers = [f"w{i}" for i in range(8)]
    conv_id = open_on(a, writers, 500)
    stop = tmp_path / "stop"
    readers = [
        subprocess.Popen(
            [
                sys.executable,
                str(HERE / "reader_probe.py"),
                str(root.conversation(conv_id)),
                str(stop),
                str(tmp_path / f"r{i}"),
            ]
        )
        for i, root in enumerate(shared)
    ]
    try:
        hammer(a, conv_id, writers, 50, "locked", roots=[a.path, b.path])
    finally:
        stop.touch()
        for reader in readers:
            reader.wait(timeout=30)
    counts = census(a, conv_id)
    expected = {f"{w} #{i}" for w in writers for i in range(50)}
    assert set(counts) == expected, f"lost: {sorted(expected - set(counts))[:10]}"
    assert max(counts.values()) == 1, "a reply was written twice"
    conv = store.load(b.conversation(conv_id))
    assert [blk.turn for blk in conv.blocks] == list(range(1, 402))
    assert conv.revision == 401 and conv.trailer_ok
    for i in range(2):
        seen = [json.loads(line) for line in (tmp_path / f"r{i}").read_text().splitlines()]
        revisions = [rev for rev, _, _ in seen]
        assert len(seen) > 10, "the reader saw almost nothing"
        assert revisions == sorted(revisions), "a reader went back in revision"
        assert all(ok and not hand for _, hand, ok in seen), "a reader accepted a torn file"
    names = os.listdir(a.conversations)
    assert store.conversation_files(a.conversations) == [a.conversation(conv_id)]
    assert all(
        not n.startswith(".fuse_hidden")
        or n not in [p.name for p in store.conversation_files(a.conversations)]
        for n in names
    )


def test_without_the_lock_turns_are_lost_over_sshfs_too(shared: tuple[Root, Root]) -> None:
    a, b = shared
    writers = [f"w{i}" for i in range(8)]
    conv_id = open_on(a, writers, 500)
    hammer(a, conv_id, writers, 20, "unlocked", roots=[a.path, b.path])
    lost = 8 * 20 - len(census(a, conv_id))
    print(f"negative control over sshfs: {lost} of 160 replies lost without the lock")
    assert lost > 0


def test_fuse_hidden_files_are_ignored(shared: tuple[Root, Root]) -> None:
    a, b = shared
    conv_id = open_on(a, ["x", "y"], 20)
    data = a.conversation(conv_id).read_bytes()
    (a.conversations / ".fuse_hidden0000000a00000001").write_bytes(data[:100])
    from talkroom.watch.tracker import Tracker

    tracker = Tracker(b, poll=True)
    tracker.start()
    updates, _ = tracker.tick(forced=True)
    assert [s.conv_id for s in updates] == [conv_id]
    assert [p.name for p in store.conversation_files(b.conversations)] == [f"{conv_id}.md"]


def test_kill_9_of_writers_over_sshfs(shared: tuple[Root, Root]) -> None:
    a, _ = shared
    plan = ops.plan_open(
        a,
        topic="crash",
        opener="moderator",
        with_=["killed", "other"],
        next_=["killed"],
        max_turns=100_000,
        body="go",
        moderator="mod",
    )
    conv_id = ops.open_conversation(a, plan, "host-a").conv.id
    stale.set_stale_after(1.0)
    outcomes = kill_writers_at_random(a, conv_id, rounds=50, host="host-a", max_delay=0.15)
    print(f"kill -9 over sshfs, 50 rounds: {dict(outcomes)}")
    conv = store.load(a.conversation(conv_id))
    assert [bk.body for bk in conv.blocks if bk.body.startswith("after kill")] == [
        f"after kill {n}" for n in range(50)
    ]


@pytest.mark.parametrize("where", ["local", "sshfs"])
def test_a_stopped_lock_holder_is_broken_as_stale_and_loses_nothing(
    where: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    if where == "local":
        talk: Talk = request.getfixturevalue("talk")
        first = second = talk.root
        host_1 = host_2 = "test-host"
    else:
        first, second = request.getfixturevalue("shared")
        host_1, host_2 = "host-a", "host-b"
    conv_id = open_on(first, ["w1", "w2"], 50)
    marker = tmp_path / "stalled"
    stalled = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "stall_writer.py"),
            str(first.path),
            conv_id,
            "w1",
            "w1,w2",
            host_1,
            str(marker),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(marker.exists, 15, what="the writer to stop while holding the lock")
        held = first.conversations / f".{conv_id}.md.lock"
        assert held.exists()
        start = time.monotonic()
        other = subprocess.run(
            [
                sys.executable,
                "-m",
                "talkroom",
                "--root",
                str(second.path),
                "--host",
                host_2,
                "reply",
                conv_id,
                "--as",
                "w2",
                "--next",
                "w1,w2",
                "--body",
                "w2 meanwhile",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "TALKROOM_STALE_LOCK_SECONDS": "2"},
        )
        waited = time.monotonic() - start
        assert other.returncode == 0, other.stderr
        assert "broke a stale lock" in other.stderr and waited >= 2
    finally:
        os.kill(stalled.pid, signal.SIGCONT)
    out, _ = stalled.communicate(timeout=60)
    assert stalled.returncode == 0 and "done" in out
    conv = store.load(first.conversation(conv_id))
    assert conv.trailer_ok
    assert [b.body for b in conv.blocks[1:]] == ["w2 meanwhile", "w1 stalled"]
    assert [b.turn for b in conv.blocks] == [1, 2, 3]


def start_watcher(root: Root, host: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "talkroom",
            "--root",
            str(root.path),
            "--host",
            host,
            "--watch-only",
            "--json",
            "--interval",
            "0.5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TALKROOM_HEARTBEAT_INTERVAL": "1"},
    )
    return proc


def stop_watcher(proc: subprocess.Popen[str]) -> list[dict[str, object]]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return [json.loads(line) for line in out.splitlines()]


def receipts(root: Root, host: str) -> list[dict[str, object]]:
    path = root.host_dir(host) / "deliveries.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.tmux
def test_two_hosts_on_two_mounts_debate_to_the_budget(
    shared: tuple[Root, Root],
    tmux_server: TmuxServer,
    tmp_path: Path,
) -> None:
    a, b = shared
    logs = {}
    for name, root, host in (("alpha", a, "host-a"), ("beta", b, "host-b")):
        logs[name] = tmp_path / f"{name}.log"
        pane = tmux_server.pane(agent(name, logs[name], think=0.1))
        wait_idle_prompt(tmux_server, pane)
        registry.register(root, host, name, "claude", tmux_server.ref(pane))
    plan = ops.plan_open(
        a,
        topic="across hosts",
        opener="moderator",
        with_=["alpha", "beta"],
        next_=["alpha"],
        max_turns=6,
        body="Alternate, please.",
        moderator="mod",
    )
    conv_id = ops.open_conversation(a, plan, "host-a").conv.id
    watchers = [start_watcher(a, "host-a"), start_watcher(b, "host-b")]
    try:
        wait_for(
            lambda: store.load(a.conversation(conv_id)).next == ["moderator"],
            90,
            every=0.3,
            what="the debate to reach its budget across the mounts",
        )
    finally:
        events = [stop_watcher(w) for w in watchers]
    conv = store.load(b.conversation(conv_id))
    assert [blk.author for blk in conv.blocks[1:]] == ["alpha", "beta", "alpha", "beta", "alpha"]
    assert {r["target"] for r in receipts(a, "host-a")} == {"alpha"}
    assert {r["target"] for r in receipts(b, "host-b")} == {"beta"}
    assert [r["outcome"] for r in receipts(a, "host-a")] == ["delivered"] * 3
    assert [r["outcome"] for r in receipts(a, "host-b")] == ["delivered"] * 2
    assert all(e[0]["mode"] == "polling" for e in events)  # sshfs: changes are polled
    for name, turns in (("alpha", 3), ("beta", 2)):
        assert len(logs[name].read_text().splitlines()) == turns  # each typed once a turn
    show_both_hosts_in_the_console(a, conv_id)


def show_both_hosts_in_the_console(root: Root, conv_id: str) -> None:
    """The console on mount 1 shows both hosts' heartbeats and receipts."""
    import asyncio

    from talkroom.console.app import TalkroomApp
    from talkroom.core import config
    from tests.consolepilot import screen_text

    async def check() -> None:
        app = TalkroomApp(root, "host-a", config.load(env={}), watch=False)
        async with app.run_test(size=(180, 50)) as pilot:
            for _ in range(200):
                if app.main.loaded and app.main.state.receipts and app.main.state.heartbeats:
                    break
                await pilot.pause(0.05)
            await pilot.pause(0.3)
            assert {hb.host for hb in app.main.state.heartbeats} == {"host-a", "host-b"}
            shown = screen_text(app)
            assert "hosts host-b" in shown
            assert "delivered to alpha on host-a" in shown
            assert "delivered to beta on host-b" in shown
            assert app.selected_id == conv_id

    asyncio.run(check())


@pytest.mark.tmux
def test_the_mount_goes_away_under_a_running_watcher_and_console(
    tmux_server: TmuxServer,
    tmp_path: Path,
) -> None:
    with SshfsPair(count=1) as pair:
        root = Root(pair.mounts[0] / "talks", "sshfs")
        root.conversations.mkdir(parents=True)
        log = tmp_path / "listener.log"
        pane = tmux_server.pane(agent("listener", log))
        wait_idle_prompt(tmux_server, pane)
        registry.register(root, "host-a", "beta", "claude", tmux_server.ref(pane))
        plan = ops.plan_open(root, topic="outage", opener="alpha", with_=["beta"])
        conv_id = ops.open_conversation(root, plan, "host-a").conv.id
        watcher = start_watcher(root, "host-a")
        try:
            wait_for(
                lambda: log.exists() and log.read_text().count("\n") == 1,
                20,
                what="the first delivery",
            )
            run_console_through_an_outage(pair, root, conv_id)
            ops.run(moderate.plan_moderate(root, conv_id, "nudge", moderator="mod"), "host-a")
            wait_for(
                lambda: log.read_text().count("\n") == 2,
                20,
                what="the delivery after the mount came back",
            )
            time.sleep(2.0)
        finally:
            events = stop_watcher(watcher)
        kinds = [e["event"] for e in events]
        assert "error" in kinds and "recovered" in kinds[kinds.index("error") :]
        assert log.read_text().count("# talkroom: your turn") == 2  # never typed twice


def run_console_through_an_outage(pair: SshfsPair, root: Root, conv_id: str) -> None:
    """Kill sshfs under a running console, check it says so, remount, check it recovers."""
    import asyncio

    from talkroom.console.app import TalkroomApp
    from talkroom.core import config

    async def check() -> None:
        app = TalkroomApp(root, "console-host", config.load(env={}), watch=False)
        async with app.run_test(size=(160, 40)) as pilot:
            for _ in range(200):
                if app.main.loaded:
                    break
                await pilot.pause(0.05)
            assert app.selected_id == conv_id
            pair.kill(0)  # the sshfs process dies: every access fails with ENOTCONN
            for _ in range(300):
                if app.main.root_error:
                    break
                await pilot.pause(0.05)
            assert app.main.root_error and "talk root" in app.main.root_error
            assert app.selected_id == conv_id  # the last good state stays on screen
            # From this thread: sshfs dies with the thread that started it (PDEATHSIG).
            pair.remount(0)
            for _ in range(400):
                if app.main.root_error is None:
                    break
                await pilot.pause(0.05)
            assert app.main.root_error is None

    asyncio.run(check())
    assert parse(root.conversation(conv_id).read_bytes()).trailer_ok
