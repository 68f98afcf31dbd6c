"""`talkroom demo` and the console, run as a user runs them: in a terminal, by keys, cleaned
up on quit."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from talkroom.core import store
from talkroom.core.paths import Root
from talkroom.demo.run import AGENTS, prepare
from talkroom.watch import registry
from tests.tmuxlib import TmuxServer, wait_for

pytestmark = pytest.mark.tmux


def test_prepare_registers_three_agents_and_opens_the_debate() -> None:
    base = Path(tempfile.mkdtemp(prefix="tr-demo-", dir="/tmp"))
    root, tmux, conv_id = prepare(base, "demo-host", "mod")
    try:
        sessions = registry.load_sessions(root, "demo-host")
        assert sorted(sessions) == sorted(name for name, _, _ in AGENTS)
        conv = store.load(root.conversation(conv_id))
        assert conv.max_turns == 12 and conv.next == ["ada"] and conv.turns == 1
        assert all(
            tmux.run("display-message", "-p", "-t", s.pane.pane_id, "#{pane_id}")
            for s in sessions.values()
        )
    finally:
        tmux.kill()
        shutil.rmtree(base, ignore_errors=True)


def test_the_demo_in_a_terminal(tmux_server: TmuxServer, tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    demo = shlex.join([sys.executable, "-m", "talkroom", "demo"])
    pane = tmux_server.pane(
        ["sh", "-c", f"{demo}; echo demo-exit-$?; sleep 600"],
        cwd=tmp_path,
        env={"TMPDIR": str(scratch)},
    )
    wait_for(
        lambda: "Which queue backend" in tmux_server.capture(pane),
        20,
        what="the console with the debate",
    )
    demo_dirs = list(scratch.glob("talkroom-demo-*"))
    assert demo_dirs, "the demo made no temporary root"
    wait_for(
        lambda: "turn 2/12" in tmux_server.capture(pane),
        30,
        every=0.2,
        what="the first agent's reply, delivered by the watcher inside",
    )
    tmux_server.run("send-keys", "-t", pane, "p")
    wait_for(lambda: "why (optional" in tmux_server.capture(pane), 5, what="the pause dialog")
    tmux_server.run("send-keys", "-t", pane, "-l", "--", "coffee")
    tmux_server.run("send-keys", "-t", pane, "Enter")
    wait_for(lambda: "paused: coffee" in tmux_server.capture(pane), 10, what="paused")
    tmux_server.run("send-keys", "-t", pane, "q")
    wait_for(lambda: "demo-exit-0" in tmux_server.capture(pane), 15, what="the demo to exit")
    assert "To invite real agents" in tmux_server.capture(pane)  # what to run next
    leftovers = [d for d in demo_dirs if d.exists()]
    assert leftovers == [], "the demo's temporary root was not removed"


def test_the_real_console_on_an_empty_root_runs_its_watcher_at_the_flag_interval(
    tmux_server: TmuxServer,
    root: Root,
    isolated: Path,
) -> None:
    env = {k: os.environ[k] for k in ("TALKROOM_CONFIG", "TALKROOM_STATE_DIR", "TALKROOM_HOST")}
    pane = tmux_server.pane(
        [sys.executable, "-m", "talkroom", "--root", str(root.path), "--interval", "7", "--poll"],
        env={**env, "TERM": "xterm-256color"},
    )
    beat = root.host_dir("test-host") / "watcher.yaml"
    wait_for(
        lambda: beat.exists() and "poll interval: 7" in beat.read_text(),
        20,
        what="the console's watcher beating at --interval",
    )
    assert "mode: polling" in beat.read_text()
    wait_for(
        lambda: "No conversation selected" in tmux_server.capture(pane), 10, what="the console"
    )
    tmux_server.run("send-keys", "-t", pane, "q")  # asks first: this host's wake-ups stop
    wait_for(lambda: "q: quit" in tmux_server.capture(pane), 10, what="the quit question")
    assert "stopped at:" not in beat.read_text()
    tmux_server.run("send-keys", "-t", pane, "q")
    wait_for(lambda: "stopped at:" in beat.read_text(), 10, what="the watcher stopped on quit")
