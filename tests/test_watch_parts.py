"""The watcher's parts: the instruction line, profiles, registry, receipts, cursor, detection."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from talkroom.core import store
from talkroom.core.codec import parse
from talkroom.core.paths import Root
from talkroom.core.receipts import Receipt, ReceiptTail, append_receipt
from talkroom.watch import registry
from talkroom.watch.cursor import Cursor
from talkroom.watch.detect import Poller, is_conversation, is_network, mount_of
from talkroom.watch.heartbeat import read_heartbeats, write_heartbeat
from talkroom.watch.hostlock import HostLock, WatcherBusy
from talkroom.watch.instruction import build_line
from talkroom.watch.profiles import BUILTIN_PROFILES, make_profile, profiles_from_config
from talkroom.watch.tmux import PaneRef
from tests.conftest import Talk

LINE_RE = re.compile(r"^[ -~]{1,400}$")


def conversation(talk: Talk, *with_: str) -> str:
    result = talk(
        "open",
        "--topic",
        "t",
        "--as",
        "alpha",
        "--with",
        ",".join(with_ or ("beta",)),
        "--body",
        "x",
    )
    return result.first


def test_the_instruction_line_names_the_exact_reply_command(talk: Talk) -> None:
    conv_id = conversation(talk)
    conv = store.load(talk.root.conversation(conv_id))
    line = build_line(conv, "beta", conv.path, talk.root.path)  # type: ignore[arg-type]
    assert LINE_RE.match(line) and not line.endswith(";")
    assert line.startswith(f"# talkroom: your turn in {conv_id} (turn 2/20): read {conv.path}, ")
    assert f"then run: talkroom reply {conv_id} --as beta --next alpha --root " in line


def test_with_more_participants_next_is_the_following_one(talk: Talk) -> None:
    conv_id = conversation(talk, "beta", "gamma")
    conv = store.load(talk.root.conversation(conv_id))
    assert "--as beta --next gamma" in build_line(conv, "beta", Path("/x.md"), Path("/r"))
    assert "--as gamma --next alpha" in build_line(conv, "gamma", Path("/x.md"), Path("/r"))


def test_unsafe_paths_never_reach_the_line(talk: Talk) -> None:
    conv = store.load(talk.root.conversation(conversation(talk)))
    # A root the line cannot carry is refused, never dropped: the reply would go elsewhere.
    with pytest.raises(ValueError, match="cannot carry"):
        build_line(conv, "beta", Path("/tälks/c.md"), Path("/tälks"))
    line = build_line(conv, "beta", Path("/my talks/c.md"), Path("/my talks; rm -rf ~"))
    assert "--root '/my talks; rm -rf ~'" in line and not line.endswith(";")
    long = Path("/" + "x" * 200)  # a deep root: the path to read is dropped, never --root
    line = build_line(conv, "beta", long / "c.md", long)
    assert len(line) <= 400 and line.endswith(f"--next alpha --root {long}")
    huge = Path("/" + "y" * 390)
    with pytest.raises(ValueError, match="at most"):
        build_line(conv, "beta", huge / "c.md", huge)


def test_hostile_names_in_a_file_are_refused_before_typing() -> None:
    data = (
        b"---\ntopic: t\nparticipants: alpha, $(reboot), beta\nnext: alpha\nrevision: 1\n"
        b"---\n\n## Opening -- alpha @ t <!-- i1 -->\nTurn 1/20\n\nx\n\nNEXT: alpha\n\n"
    )
    conv = parse(data, "c")
    line = build_line(conv, "alpha", Path("/c.md"), Path("/r"))
    assert "$(reboot)" not in line and "--next beta" in line
    with pytest.raises(ValueError, match="invalid name"):
        build_line(conv, "alpha; reboot", Path("/c.md"), Path("/r"))


def test_profiles_read_the_bottom_of_the_pane() -> None:
    claude = BUILTIN_PROFILES["claude"]
    assert claude.state("welcome\n\n❯ \n") == ""
    assert claude.state("❯\u00a0\n") == ""
    assert claude.state("✻ Thinking… (ESC to interrupt)\n❯ \n") == "busy"
    assert claude.state("Do you want to proceed?\n❯ 1. Yes\n") == "waiting"
    assert claude.state("❯ half-typed by a human\n") == "draft"
    old = "esc to interrupt\n" + "output\n" * 20 + "❯ \n"
    assert claude.state(old) == ""  # old scrollback is not read
    gemini = BUILTIN_PROFILES["gemini"]
    assert gemini.state("⠹ Investigating (esc to cancel, 8s)\n") == "busy"
    assert BUILTIN_PROFILES["codex"].state("› \n\n  gpt-5 · 80% left\n") == ""


def test_profile_overrides_from_the_config_are_checked() -> None:
    profile = make_profile("claude", {"submit_delay": "0.8", "busy_markers": "working"})
    assert profile.submit_delay == 0.8 and profile.busy_markers == ("working",)
    with pytest.raises(ValueError, match="submit_key"):
        make_profile("codex", {"submit_key": "-t evil"})
    with pytest.raises(ValueError, match="unknown profile key"):
        make_profile("codex", {"command": "rm"})
    with pytest.raises(ValueError, match="unknown profile 'aider'"):
        profiles_from_config({"aider": {}})
    with pytest.raises(ValueError, match="not a regex"):
        make_profile("generic", {"idle_patterns": ["("]})


def test_registry_round_trip_and_names_unique_across_hosts(root: Root) -> None:
    pane = PaneRef("/tmp/tmux-0/default", 100, "%3", 200)
    registry.register(root, "host-a", "Codex", "codex", pane)
    registry.register(root, "host-a", "claude", "claude", PaneRef("/tmp/s 'q", 100, "%4", 201))
    got = registry.load_sessions(root, "host-a")
    assert set(got) == {"codex", "claude"} and got["claude"].pane.socket_path == "/tmp/s 'q"
    assert got["codex"].pane == pane and got["codex"].agent == "codex"
    from talkroom.core.errors import Refused

    with pytest.raises(Refused, match="registered on host host-a"):
        registry.register(root, "host-b", "codex", "codex", pane)
    assert registry.unregister(root, "host-a", "codex") is True
    assert registry.unregister(root, "host-a", "codex") is False
    assert [s.name for s in registry.all_sessions(root)] == ["claude"]


def test_a_hand_edited_sessions_file_cannot_name_a_bad_pane(root: Root) -> None:
    path = registry.sessions_path(root, "h")
    path.parent.mkdir(parents=True)
    path.write_text(
        "sessions:\n  good:\n    pane: '%1'\n    pane pid: '5'\n    socket: /s\n"
        "    server pid: '9'\n  bad:\n    pane: '-t evil'\n    pane pid: '5'\n"
        "    socket: /s\n    server pid: '9'\n  ../x:\n    pane: '%2'\n"
    )
    assert list(registry.load_sessions(root, "h")) == ["good"]


def test_receipts_tail_reads_only_complete_new_lines(root: Root) -> None:
    tail = ReceiptTail(root)
    r = Receipt("h1", "2026-01-01T00:00:00Z", "c", "a1", 3, "codex", "%1", "delivered", 700)
    append_receipt(root, "h1", r)
    append_receipt(
        root, "h2", Receipt("h2", "t", "c", "a1", 3, "claude", "%2", "deferred:busy", None)
    )
    got = tail.poll()
    assert sorted((x.host, x.outcome) for x in got) == [
        ("h1", "delivered"),
        ("h2", "deferred:busy"),
    ]
    with open(root.host_dir("h1") / "deliveries.jsonl", "ab") as fh:
        fh.write(b'{"at": "t", "conversation": "c", "assign')  # a line still being written
    assert tail.poll() == []
    with open(root.host_dir("h1") / "deliveries.jsonl", "ab") as fh:
        fh.write(b'ment": "a2", "target": "x", "outcome": "failed:pane gone"}\n')
    assert [x.outcome for x in tail.poll()] == ["failed:pane gone"]
    assert set(r.to_json()) == {
        "at",
        "conversation",
        "assignment",
        "revision",
        "target",
        "pane",
        "outcome",
        "latency_ms",
    }


def test_the_cursor_survives_a_restart_and_forgets_old_assignments(root: Root) -> None:
    cursor = Cursor(root, "h")
    cursor.mark("c1", "a1", "codex", "typing")
    assert Cursor(root, "h").state("c1", "a1", "codex") == "typing"
    cursor.mark("c1", "a2", "claude", "delivered")
    again = Cursor(root, "h")
    assert (
        again.state("c1", "a1", "codex") is None
        and again.state("c1", "a2", "claude") == "delivered"
    )
    again.forget({"c1"})
    assert Cursor(root, "h").entries() == {}


def test_the_host_lock_admits_one_watcher(root: Root) -> None:
    first = HostLock("h", root.path)
    first.acquire()
    try:
        with pytest.raises(WatcherBusy, match=f"pid {os.getpid()}"):
            HostLock("h", root.path).acquire()
        assert HostLock("h", root.path).held_by() == os.getpid()
        HostLock("other-host", root.path).acquire()  # another host name is another watcher
    finally:
        first.release()
    assert HostLock("h", root.path).held_by() is None


def test_heartbeats(root: Root) -> None:
    write_heartbeat(
        root,
        "h1",
        {
            "pid": "12",
            "mode": "events",
            "heartbeat": "2026-01-01T00:00:00Z",
            "heartbeat interval": "5",
        },
    )
    (beat,) = read_heartbeats(root)
    assert beat.host == "h1" and beat.pid == 12 and beat.mode == "events"
    assert not beat.alive() and beat.age() > 1000


def test_poller_reports_changes_and_ignores_locks(tmp_path: Path) -> None:
    folder = tmp_path / "conversations"
    folder.mkdir()
    poller = Poller(folder)
    assert poller.scan() == (set(), set())
    (folder / "a.md").write_text("1")
    (folder / ".a.md.lock").write_text("x")
    (folder / ".fuse_hidden000a").write_text("x")
    changed, removed = poller.scan()
    assert changed == {folder / "a.md"} and removed == set()
    assert poller.locks == [folder / ".a.md.lock"]
    assert poller.scan() == (set(), set())
    time.sleep(0.01)
    (folder / "a.md").write_text("22")
    assert poller.scan()[0] == {folder / "a.md"}
    (folder / "a.md").unlink()
    assert poller.scan() == (set(), {folder / "a.md"})


def test_local_disks_use_events() -> None:
    assert mount_of(Path("/"))[0] == "/"
    assert not is_network(Path("/tmp"))
    assert is_conversation("20261121-x.md") and not is_conversation(".x.md.lock")


@pytest.mark.tmux
def test_a_stopped_tmux_server_cannot_hang_the_driver(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # libtmux runs tmux with no timeout of its own; the driver's bound must still hold.
    import signal
    import threading

    from talkroom.watch import tmux
    from tests.tmuxlib import TmuxServer, need_tmux

    need_tmux()
    server = TmuxServer(tmp_path / "s")
    server.start()
    try:
        ref = server.ref(server.pane(["sleep", "100000"]))
        assert tmux.query(ref)[0] is not None  # answers while it runs (and libtmux is loaded)
        monkeypatch.setattr(tmux, "TMUX_TIMEOUT", 0.5)
        outcomes: list[str] = []

        def calls() -> None:
            for call in (lambda: tmux.query(ref), lambda: tmux.type_literal(ref, "-x")):
                try:
                    call()
                    outcomes.append("answered")
                except tmux.TmuxError as exc:
                    outcomes.append(str(exc))

        os.kill(ref.server_pid, signal.SIGSTOP)
        try:
            worker = threading.Thread(target=calls, daemon=True)
            started = time.monotonic()
            worker.start()
            worker.join(timeout=10)
            elapsed = time.monotonic() - started
            assert not worker.is_alive(), "a stopped tmux server hung the driver"
        finally:
            os.kill(ref.server_pid, signal.SIGCONT)
        said = f"tmux server at {ref.socket_path} did not answer within 0.5 s"
        assert outcomes == [said, said] and elapsed < 5
    finally:
        server.kill()


# None: a daemon's closed stdout; the other one is like Textual's print capture.
@pytest.mark.parametrize(
    "stdout",
    [
        "None",
        "type('Capture', (), {'write': lambda s, t: len(t), 'flush': lambda s: None})()",
    ],
)
def test_the_driver_loads_libtmux_under_a_stdout_with_no_encoding(stdout: str) -> None:
    # libtmux reads sys.stdout.encoding on import; the console's print capture has none.
    import subprocess
    import sys

    code = (
        f"import sys; saved = sys.stdout = {stdout}\n"
        "from talkroom.watch import tmux\n"
        "alive = tmux.pane_alive(tmux.PaneRef('/nonexistent/s', 1, '%1', 1))\n"
        "assert not alive and 'libtmux' in sys.modules and sys.stdout is saved\n"
        "sys.stderr.write('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0 and result.stderr == "ok", result.stderr
