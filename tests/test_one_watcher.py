"""Nothing typed twice: one watcher per host and root however the root is reached, one
host per session name however many register at once, a damaged cursor that forgets
nothing, and a read-only root that is one error, not an error every heartbeat."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from talkroom.core import store
from talkroom.core.paths import Root
from talkroom.watch import registry
from talkroom.watch.watcher import Watcher, WatchEvent
from tests.conftest import Talk, run_talkroom
from tests.faults import can_mount, remount, tmpfs
from tests.tmuxlib import TmuxServer, wait_for

HOST = "test-host"


def _watch_only(root: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "talkroom",
            "--root",
            str(root),
            "--watch-only",
            "--interval",
            "0.2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _second_is_refused(
    first_root: Path,
    second_root: Path,
    second_env: dict[str, str] | None = None,
    first_env: dict[str, str] | None = None,
) -> str:
    first = _watch_only(first_root, first_env)
    try:
        assert first.stdout is not None
        assert "started" in first.stdout.readline()
        second = _watch_only(second_root, second_env)
        out, err = second.communicate(timeout=20)
        assert second.returncode == 1, (out, err)
        return err
    finally:
        first.terminate()
        first.communicate(timeout=20)


def test_a_second_watcher_through_a_symlink_is_refused(root: Root, tmp_path: Path) -> None:
    link = tmp_path / "same-root"
    link.symlink_to(root.path)
    err = _second_is_refused(root.path, link)
    assert "already" in err and err.count("\n") == 1


def test_a_second_watcher_with_another_runtime_dir_is_refused(root: Root, tmp_path: Path) -> None:
    one, two = tmp_path / "run1", tmp_path / "run2"
    one.mkdir(mode=0o700)
    two.mkdir(mode=0o700)
    err = _second_is_refused(
        root.path,
        root.path,
        {"XDG_RUNTIME_DIR": str(two), "TMPDIR": str(two)},
        {"XDG_RUNTIME_DIR": str(one), "TMPDIR": str(one)},
    )
    assert "already" in err


def test_a_second_watcher_through_a_bind_mount_is_refused(root: Root, tmp_path: Path) -> None:
    if can_mount():
        pytest.skip("a bind mount needs root")
    bound = tmp_path / "bound"
    bound.mkdir()
    subprocess.run(["mount", "--bind", str(root.path), str(bound)], check=True)
    try:
        err = _second_is_refused(root.path, bound)
    finally:
        subprocess.run(["umount", "-l", str(bound)], check=False)
    assert "already" in err


@pytest.mark.netfs
def test_a_second_watcher_through_another_network_mount_is_refused(
    shared: tuple[Root, Root],
) -> None:
    a, b = shared
    err = _second_is_refused(a.path, b.path)
    assert "already" in err and "on this machine" in err


def test_a_second_machine_with_the_same_host_name_is_refused(root: Root) -> None:
    from tests.test_pause import other_machine

    first = _watch_only(root.path)
    try:
        assert first.stdout is not None and "started" in first.stdout.readline()
        second = subprocess.run(
            [
                *other_machine(),
                sys.executable,
                "-m",
                "talkroom",
                "--root",
                str(root.path),
                "--watch-only",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        first.terminate()
        first.communicate(timeout=20)
    assert second.returncode == 1, second
    assert "another machine that also calls itself test-host" in second.stderr


def test_writers_on_two_machines_with_one_host_name_never_break_each_others_locks(
    talk: Talk, tmp_path: Path
) -> None:
    from tests.test_pause import other_machine

    conv_id = talk.open("--next", "beta", "--max-turns", "1000")
    talk("next", conv_id, "alpha,beta")
    code = (
        "import sys; from pathlib import Path; from talkroom.core import ops;"
        "from talkroom.core.paths import Root; r = Root(Path(sys.argv[1]), 't')\n"
        "for i in range(40):\n"
        "    ops.run(ops.plan_reply(r, sys.argv[2], author=sys.argv[3],"
        " next_=['alpha', 'beta'], body=f'{sys.argv[3]} {i}'), 'same-name')\n"
    )
    procs = [
        subprocess.Popen([*prefix, sys.executable, "-c", code, str(talk.root.path), conv_id, name])
        for prefix, name in ((other_machine(), "alpha"), ([], "beta"))
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert list(talk.root.conversations.glob(".*.lock.broken.*")) == []
    conv = store.load(talk.root.conversation(conv_id))
    assert sum(b.kind == "Reply" for b in conv.blocks) == 80


def test_thirty_concurrent_registrations_leave_each_name_on_one_host(root: Root) -> None:
    code = (
        "import sys, time; from pathlib import Path; from talkroom.watch import registry;"
        "from talkroom.watch.tmux import PaneRef; from talkroom.core.paths import Root;"
        "from talkroom.core.errors import Refused\n"
        "while time.time() < float(sys.argv[3]): time.sleep(0.001)\n"
        "try:\n"
        "    registry.register(Root(Path(sys.argv[1]), 't'), sys.argv[2], 'beta', 'claude',"
        " PaneRef('/tmp/s', 1, '%1', 2))\n"
        "except Refused: sys.exit(1)\n"
    )
    for round_no in range(30):
        start = str(time.time() + 0.4)
        procs = [
            subprocess.Popen([sys.executable, "-c", code, str(root.path), host, start])
            for host in ("host-a", "host-b")
        ]
        codes = sorted(p.wait(timeout=60) for p in procs)
        owners = [h for h in ("host-a", "host-b") if "beta" in registry.load_sessions(root, h)]
        assert codes == [0, 1] and len(owners) == 1, f"round {round_no}: {codes} {owners}"
        registry.unregister(root, owners[0], "beta")


@pytest.mark.tmux
def test_a_damaged_cursor_never_types_a_line_again(
    talk: Talk, tmux_server: TmuxServer, tmp_path: Path
) -> None:
    # A program that takes lines and never answers: every wake-up line it got stays the
    # current assignment, so a watcher that forgot would type it again.
    log = tmp_path / "alpha.log"
    pane = tmux_server.pane(["sh", "-c", f"exec cat >> {log}"])
    wait_for(lambda: tmux_server.command(pane) == "cat", 10, what="cat in its pane")
    registry.register(talk.root, HOST, "alpha", "generic", tmux_server.ref(pane))
    talk(
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
    talk(
        "open",
        "--topic",
        "u",
        "--as",
        "moderator",
        "--with",
        "alpha,beta",
        "--next",
        "alpha",
        "--body",
        "go",
    )

    def run_watcher(until: object, seconds: float) -> None:
        watcher = Watcher(talk.root, HOST, interval=0.2, heartbeat=1.0)
        watcher.start()
        try:
            if until is not None:
                wait_for(until, 20, what="both wake-up lines")
            time.sleep(seconds)  # let the outcomes land, or give a second typing its chance
        finally:
            watcher.stop()

    def typed() -> int:  # wake-up lines (a submit key re-sent adds empty ones)
        return sum(1 for line in log.read_text().splitlines() if line) if log.exists() else 0

    run_watcher(lambda: typed() == 2, 1.5)
    cursor = talk.root.host_dir(HOST) / "cursor.yaml"
    older = cursor.read_bytes()
    # A newer assignment is delivered; then an older copy of the cursor is put back.
    conv_t = next(
        c for c in store.conversation_files(talk.root.conversations) if store.load(c).topic == "t"
    )
    talk("nudge", conv_t.stem)
    run_watcher(lambda: typed() == 3, 1.5)
    cursor.write_bytes(older)
    run_watcher(None, 2.5)
    assert typed() == 3, "typed again after an older cursor was put back"
    for damage in ("garbage", "delete"):
        text = cursor.read_text().splitlines()
        target_lines = [i for i, line in enumerate(text) if line.startswith("      alpha:")]
        assert target_lines, text
        if damage == "garbage":
            text[target_lines[0]] = "      alpha: \x00\x01 {{{ not yaml"
            cursor.write_text("\n".join(text) + "\n")
        else:
            cursor.unlink()
        run_watcher(None, 2.5)
        assert typed() == 3, f"typed again after the cursor's {damage}"


def test_a_read_only_root_is_one_error_not_one_per_heartbeat(talk: Talk, tmp_path: Path) -> None:
    reason = can_mount()
    if reason:
        pytest.skip(reason)
    with tmpfs(tmp_path / "ro", "1m") as mount:
        root = Root(mount / "talks", "tmpfs")
        run_talkroom(
            "--root",
            str(root.path),
            "open",
            "--topic",
            "t",
            "--as",
            "a",
            "--with",
            "b",
            "--body",
            "hi",
        )
        events: list[WatchEvent] = []
        watcher = Watcher(root, HOST, interval=0.1, heartbeat=0.2, on_event=events.append)
        watcher.start()
        time.sleep(0.5)
        remount(mount, "ro")
        try:
            time.sleep(2.5)  # a dozen heartbeats
        finally:
            remount(mount, "rw")
            time.sleep(1.0)
            watcher.stop()
    kinds = [e.kind for e in events]
    during = kinds[kinds.index("ready") :]
    assert during.count("error") == 1 and during.count("recovered") == 1, kinds


def test_runtime_dir_is_the_same_whatever_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from talkroom.core.paths import runtime_dir

    first = runtime_dir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    tempfile.tempdir = None
    assert runtime_dir() == first
    assert shutil.disk_usage(first)  # it exists


@pytest.mark.tmux
def test_a_line_left_for_the_shell_does_nothing_there(
    talk: Talk, tmux_server: TmuxServer, tmp_path: Path
) -> None:
    # A program that never reads its terminal (sleep) is in front when the line is typed:
    # the line waits in the terminal and the shell reads it when the program exits.
    marker = tmp_path / "ran"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("[talkroom]", "#", "turn", "talkroom"):  # whatever a shell might run
        (bin_dir / name).write_text(f"#!/bin/sh\necho {name} >> {marker}\n")
        (bin_dir / name).chmod(0o755)
    pane = tmux_server.pane(
        ["bash", "--norc", "--noprofile", "-i"],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "PS1": "$ "},
    )
    wait_for(lambda: tmux_server.command(pane) == "bash", 10, what="bash")
    tmux_server.run("send-keys", "-t", pane, "sleep 4", "Enter")
    wait_for(lambda: tmux_server.command(pane) == "sleep", 10, what="sleep in front")
    registry.register(talk.root, HOST, "alpha", "generic", tmux_server.ref(pane))
    talk(
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
    watcher = Watcher(talk.root, HOST, interval=0.2, heartbeat=1.0)
    watcher.start()
    try:
        wait_for(lambda: "your turn" in tmux_server.capture(pane), 10, what="the line")
        wait_for(lambda: tmux_server.command(pane) == "bash", 15, what="sleep to end")
        time.sleep(1.0)  # the shell has read what waited in the terminal
    finally:
        watcher.stop()
    screen = tmux_server.capture(pane)
    assert "syntax error" not in screen and "not found" not in screen, screen
    assert not marker.exists(), marker.read_text()


def test_a_root_no_wake_up_line_can_name_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "talks café"
    watcher = run_talkroom("--root", str(root), "--watch-only")
    err = watcher.stderr.decode()
    assert watcher.returncode == 2 and err.count("\n") == 1 and "cannot carry" in err
    register = run_talkroom(
        "--root",
        str(root),
        "register",
        "beta",
        "--pane",
        "%1",
        env={"TMUX": "/tmp/no-such-socket,1,0"},
    )
    assert register.returncode == 2 and b"cannot carry" in register.stderr


def test_a_registrar_stopped_past_the_stale_time_cannot_take_a_name_twice(
    root: Root, tmp_path: Path
) -> None:
    import signal

    stopper = tmp_path / "stopper.py"
    stopper.write_text(
        "import os, signal, sys\nfrom pathlib import Path\nfrom talkroom.watch import registry\n"
        "from talkroom.watch.tmux import PaneRef\nfrom talkroom.core.paths import Root\n"
        "real, calls = registry.hosts, []\n"
        "def hosts(root):\n"
        "    found = real(root)\n"
        "    calls.append(1)\n"
        "    if len(calls) == 1:  # checked: the name is free; now sleep, holding the lock\n"
        "        os.kill(os.getpid(), signal.SIGSTOP)\n"
        "    return found\n"
        "registry.hosts = hosts\n"
        "try:\n"
        "    registry.register(Root(Path(sys.argv[1]), 't'), 'host-a', 'shared', 'claude',"
        " PaneRef('/tmp/s', 1, '%1', 2))\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n    sys.exit(1)\n"
    )
    first = subprocess.Popen(
        [sys.executable, str(stopper), str(root.path)], stdout=subprocess.PIPE, text=True
    )
    wait_for(
        lambda: Path(f"/proc/{first.pid}/stat").read_text().split(") ")[1][0] == "T",
        10,
        what="the first registrar to stop",
    )
    second = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from talkroom.watch import registry;"
            "from talkroom.watch.tmux import PaneRef; from talkroom.core.paths import Root;"
            "registry.register(Root(Path(sys.argv[1]), 't'), 'host-b', 'shared', 'claude',"
            " PaneRef('/tmp/s', 1, '%2', 3))",
            str(root.path),
        ],
        env={**os.environ, "TALKROOM_STALE_LOCK_SECONDS": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 0, second.stderr
    os.kill(first.pid, signal.SIGCONT)
    out, _ = first.communicate(timeout=60)
    owners = [h for h in ("host-a", "host-b") if "shared" in registry.load_sessions(root, h)]
    assert owners == ["host-b"], (owners, out)
    assert first.returncode == 1 and "registered on host host-b" in out
