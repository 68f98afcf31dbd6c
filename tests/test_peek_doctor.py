"""Pane peek against real tmux panes (hostile bytes shown inert), and `talkroom doctor` on a
healthy setup and on several broken ones."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from talkroom.console.app import TalkroomApp
from talkroom.core import config, ops
from talkroom.core.paths import Root
from talkroom.watch import registry, tmux
from talkroom.watch.heartbeat import write_heartbeat
from talkroom.watch.hostlock import HostLock
from talkroom.watch.profiles import BUILTIN_PROFILES
from talkroom.watch.watcher import Watcher
from tests.conftest import run_talkroom
from tests.test_console import screen_text, started, wait_until
from tests.tmuxlib import TmuxServer, agent, wait_for, wait_idle_prompt

pytestmark = pytest.mark.tmux

# tmux interprets escape sequences itself; bidi controls in mid-line survive its capture.
HOSTILE = (
    "printf 'plain line\\n\\033]0;pwned-title\\007after osc\\n"
    "x\\342\\200\\256evil bidi \\342\\201\\246isolate\\n"
    "[bold red]markup[/] \\033[31mred\\033[0m\\n'; sleep 600"
)


def test_peek_reads_a_pane_and_its_state(tmux_server: TmuxServer, tmp_path: Path) -> None:
    pane = tmux_server.pane(agent("alpha", tmp_path / "log"))
    wait_idle_prompt(tmux_server, pane)
    text, state = tmux.peek(tmux_server.ref(pane), BUILTIN_PROFILES["claude"])
    assert state == "" and text is not None and text.rstrip().endswith("❯")
    shell = tmux_server.pane()
    wait_for(lambda: tmux_server.command(shell) in ("bash", "sh", "dash"), 5, what="a shell")
    assert tmux.peek(tmux_server.ref(shell), BUILTIN_PROFILES["claude"])[1] == "shell"
    gone = tmux_server.ref(pane)
    tmux_server.run("kill-pane", "-t", pane)
    assert tmux.peek(gone, BUILTIN_PROFILES["claude"]) == (None, "pane gone")


@pytest.mark.asyncio
async def test_the_console_peeks_at_next_and_shows_hostile_bytes_inert(
    tmux_server: TmuxServer,
    root: Root,
) -> None:
    pane = tmux_server.pane(["sh", "-c", HOSTILE])
    wait_for(lambda: "markup" in tmux_server.capture(pane), 5, what="the hostile output")
    registry.register(root, "test-host", "codex", "generic", tmux_server.ref(pane))
    plan = ops.plan_open(
        root, topic="peek", opener="moderator", with_=["codex", "claude"], moderator="mod"
    )
    ops.open_conversation(root, plan, "test-host")
    app = TalkroomApp(root, "test-host", config.load(env={}), watch=False)
    async with app.run_test(size=(140, 45)) as pilot:
        await started(pilot, app)
        await wait_until(pilot, lambda: "evil bidi" in screen_text(app), timeout=10)
        shown = screen_text(app)
        assert "pane of codex (%" in shown and "on this host)" in shown
        assert "\x1b" not in shown and "\u202e" not in shown and "\u2066" not in shown
        assert "x<U+202E>evil bidi <U+2066>isolate" in shown
        assert "[bold red]markup[/] red" in shown and "pwned-title" not in shown
        await pilot.press("v")
        assert not app.peek.display


def doctor(root: Root, *args: str, env: dict[str, str] | None = None) -> tuple[int, list[dict]]:
    out = run_talkroom(
        "--root", str(root.path), "--host", "test-host", "doctor", "--json", *args, env=env
    )
    return out.returncode, json.loads(out.stdout)


def failing(checks: list[dict]) -> dict[str, str]:
    return {c["check"]: c["detail"] for c in checks if not c["ok"]}


def test_doctor_on_a_healthy_setup(tmux_server: TmuxServer, root: Root, tmp_path: Path) -> None:
    pane = tmux_server.pane(agent("alpha", tmp_path / "log"))
    wait_idle_prompt(tmux_server, pane)
    registry.register(root, "test-host", "alpha", "claude", tmux_server.ref(pane))
    plan = ops.plan_open(root, topic="ok", opener="alpha", with_=["beta"])
    ops.open_conversation(root, plan, "test-host")
    watcher = Watcher(root, "test-host", interval=0.2, heartbeat=1.0)
    watcher.start()
    try:
        wait_for(
            lambda: (root.host_dir("test-host") / "watcher.yaml").exists(), 5, what="a heartbeat"
        )
        code, checks = doctor(root)
    finally:
        watcher.stop()
    assert failing(checks) == {} and code == 0
    names = [c["check"] for c in checks]
    assert names[:4] == ["config", "root", "clock", "tmux"]
    assert "session alpha" in names and "watcher" in names and "conversations" in names
    human = run_talkroom("--root", str(root.path), "--host", "test-host", "doctor")
    assert human.returncode == 1  # the watcher is stopped now
    assert "✗ watcher: no watcher runs for test-host" in human.stdout.decode()


def test_doctor_on_broken_setups(
    tmux_server: TmuxServer, root: Root, tmp_path: Path, isolated: Path
) -> None:
    pane = tmux_server.pane(agent("alpha", tmp_path / "log"))
    wait_idle_prompt(tmux_server, pane)
    registry.register(root, "test-host", "alpha", "claude", tmux_server.ref(pane))
    registry.register(root, "far-host", "gamma", "codex", tmux_server.ref(pane))
    tmux_server.run("kill-pane", "-t", pane)
    plan = ops.plan_open(root, topic="t", opener="alpha", with_=["beta"])
    conv_id = ops.open_conversation(root, plan, "test-host").conv.id
    (root.conversations / "junk.md").write_bytes(b"\x00 not a conversation")
    lock = root.conversations / f".{conv_id}.md.lock"
    lock.write_text("talkroom-lock host=far pid=1 at=x nonce=0\n")
    old = time.time() - 3600
    os.utime(lock, (old, old))
    write_heartbeat(
        root,
        "far-host",
        {
            "host": "far-host",
            "pid": "9",
            "mode": "polling",
            "heartbeat": "2026-01-01T00:00:00Z",
            "heartbeat interval": "5",
        },
    )
    (isolated / "config.yaml").write_text("moderatr: me\n")
    code, checks = doctor(root)
    bad = failing(checks)
    assert code == 1
    assert set(bad) == {
        "config",
        "session alpha",
        "watcher",
        "host far-host",
        "locks",
        "conversations",
    }, bad
    assert "unknown key" in bad["config"] and "junk" in bad["conversations"]
    assert all(c["fix"] for c in checks if not c["ok"])


def test_doctor_on_a_missing_root(tmp_path: Path) -> None:
    out = run_talkroom("--root", str(tmp_path / "nowhere"), "doctor")
    text = out.stdout.decode()
    assert out.returncode == 1 and "✗ root:" in text and "does not exist" in text


@pytest.mark.parametrize("file", ["", "conversations", "hosts"])
def test_doctor_where_a_folder_is_a_file(tmp_path: Path, file: str) -> None:
    root = tmp_path / "talks"
    if file:
        root.mkdir()
    (root / file if file else root).write_text("not a folder")
    out = run_talkroom("--root", str(root), "doctor")
    text = out.stdout.decode()
    assert out.returncode == 1 and "✗ root:" in text and "tmux" in text, (text, out.stderr)
    assert ("is not a folder" if not file else "is a file, where talkroom keeps a folder") in text


def test_doctor_without_tmux(root: Root, tmp_path: Path) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "python").symlink_to(sys.executable)
    out = run_talkroom("--root", str(root.path), "doctor", env={"PATH": str(bare)})
    assert "✗ tmux: not installed" in out.stdout.decode()


def old_beat(root: Root, host: str, **extra: str) -> None:
    write_heartbeat(
        root,
        host,
        {
            "host": host,
            "pid": "9",
            "mode": "polling",
            "heartbeat": "2026-01-01T00:00:00Z",
            "heartbeat interval": "5",
            **extra,
        },
    )


def test_doctor_on_other_hosts(tmux_server: TmuxServer, root: Root, isolated: Path) -> None:
    ref = tmux.PaneRef(str(tmux_server.socket), 1, "%1", 2)
    registry.register(root, "never-ran", "alpha", "claude", ref)  # sessions, no watcher ever
    old_beat(root, "left-quietly", **{"stopped at": "2026-01-01T00:00:01Z"})  # no sessions
    broken = root.host_dir("broken-files")
    broken.mkdir(parents=True)
    (broken / "watcher.yaml").write_bytes(b"heartbeat: [unclosed\n")
    (broken / "sessions.yaml").write_bytes(b"sessions: 7\n")
    garbage = root.host_dir("garbage-beat")
    garbage.mkdir(parents=True)
    (garbage / "watcher.yaml").write_bytes(b"heartbeat: garbage\npid: abc\n")
    code, checks = doctor(root)
    assert "watcher.yaml cannot be read" in failing(checks)["host garbage-beat"]
    bad = failing(checks)
    assert code == 1 and "never ran, but 1 session(s) there wait for it" in bad["host never-ran"]
    fine = {c["check"]: c["detail"] for c in checks if c["ok"]}
    assert fine["host left-quietly"] == "watcher not running; no sessions registered there"
    broken_lines = [c for c in checks if c["check"] == "host broken-files"]
    assert len(broken_lines) == 2 and not any(c["ok"] for c in broken_lines)
    assert "sessions.yaml" in broken_lines[0]["detail"]
    assert "watcher.yaml cannot be read" in broken_lines[1]["detail"]


def test_doctor_fails_a_watcher_that_holds_the_lock_but_does_not_beat(
    root: Root,
    isolated: Path,
) -> None:
    lock = HostLock("test-host", root.path)
    lock.acquire()
    try:
        code, checks = doctor(root)
        assert "holds the watcher lock but has written no heartbeat" in failing(checks)["watcher"]
        old_beat(root, "test-host")
        code, checks = doctor(root)
    finally:
        lock.release()
    assert code == 1 and "it is stuck" in failing(checks)["watcher"]


def test_doctor_prints_hostile_file_names_inert(root: Root, isolated: Path) -> None:
    root.conversations.mkdir(parents=True)
    lock = root.conversations / ".x\x1b]0;PWNED\x07\u202e.md.lock"
    lock.write_text("talkroom-lock host=far pid=1 at=x nonce=0\n")
    os.utime(lock, (time.time() - 3600, time.time() - 3600))
    out = run_talkroom("--root", str(root.path), "--host", "test-host", "doctor")
    text = out.stdout.decode()
    assert out.returncode == 1 and "PWNED" in text
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
