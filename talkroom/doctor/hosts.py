"""The doctor's checks of the hosts: this host's sessions and how each is woken, every
host's watcher."""

from __future__ import annotations

import math
import time
from pathlib import Path

from talkroom.core.errors import StoreError
from talkroom.core.paths import Root
from talkroom.core.receipts import read_receipts
from talkroom.doctor.check import Check
from talkroom.health import Facts, command_state, session_problem, watcher_down
from talkroom.watch import registry
from talkroom.watch.heartbeat import heartbeat_path, read_heartbeat
from talkroom.watch.hostlock import HostLock


def check_sessions(root: Root, host: str) -> list[Check]:
    """This host's registrations: each pane alive and the one registered, and how each is
    woken (natively where the agent allows it, else typed), with what that needs."""
    try:
        sessions = registry.load_sessions(root, host)
    except StoreError as exc:
        return [Check("sessions", False, str(exc), "fix or remove that file")]
    if not sessions:
        return [Check("sessions", True, f"none registered on {host}")]
    facts = Facts(host, [(s, registry.alive(s)) for s in sessions.values()], [], {}, [])
    checks = []
    receipts = read_receipts(root, host)
    for name, session in sorted(sessions.items()):
        if session.command is not None:
            state = command_state(session, registry.command_problem(session), receipts)
            checks.append(Check(f"session {name}", *state))
            continue
        assert session.pane is not None
        found = session_problem("", name, facts, time.time())
        if found is not None and found.kind == "pane-gone":
            checks.append(
                Check(
                    f"session {name}",
                    False,
                    f"pane {session.pane.pane_id} is gone or not the registered one",
                    f"run 'talkroom register {name}' in its pane, or 'talkroom unregister {name}'",
                )
            )
            continue
        fix, how = wake_check(session)
        checks.append(
            Check(
                f"session {name}",
                fix is None,
                f"pane {session.pane.pane_id} alive ({session.agent}); {how}",
                fix or "",
            )
        )
    return checks


def wake_check(session: registry.Session) -> tuple[str | None, str]:
    """(what to fix, or None; how the session is woken)."""
    if session.agent == "codex" and session.wake == "typed":
        return None, (
            "woken by typing until its first reply records its Codex thread, then with codex queue"
        )
    if session.wake != "inbox":
        return None, f"woken {'with codex queue' if session.wake == 'queue' else 'by typing'}"
    from talkroom.watch.native import claude_record, inbound_setting

    record = claude_record(session)
    if record is None:
        return None, (
            "woken through Claude Code's inbox socket once Claude Code runs in the "
            "pane (typed until then)"
        )
    pid = record.get("pid")
    skips = isinstance(pid, int) and b"--dangerously-skip-permissions" in _cmdline(pid)
    setting = inbound_setting(session)
    if skips and setting != "accept":
        return (
            f'add "crossSessionInbound": "accept" to {session.agent_dir}/settings.json, '
            "or start it without --dangerously-skip-permissions",
            "woken through Claude Code's inbox socket, but it skips permissions, so each "
            "wake-up waits behind a 'Held message' dialog",
        )
    if setting == "refuse":
        return (
            f'remove "crossSessionInbound": "refuse" from {session.agent_dir}/settings.json',
            "its settings refuse messages from other sessions (woken by typing instead)",
        )
    return None, "woken through Claude Code's inbox socket"


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()[:8192].replace(b"\0", b" ")
    except OSError:
        return b""


def check_watchers(root: Root, host: str) -> list[Check]:
    """This host's watcher running and beating; every other host's watcher, where it matters."""
    checks = [_my_watcher(root, host)]
    for other in registry.hosts(root):
        if other != host:
            checks.extend(_other_host(root, other))
    return checks


def _my_watcher(root: Root, host: str) -> Check:
    pid = HostLock(host, root.path).held_by()
    if pid is None:
        return Check(
            "watcher",
            False,
            f"no watcher runs for {host} on this root",
            "start 'talkroom' or 'talkroom --watch-only'",
        )
    beat = read_heartbeat(root, host)
    if beat is None:
        return Check(
            "watcher",
            False,
            f"pid {pid} holds the watcher lock but has written no heartbeat",
            f"run doctor again in a few seconds; if this stays, stop pid "
            f"{pid} and start 'talkroom --watch-only'",
        )
    down = watcher_down(beat, time.time())
    if down is not None:
        return Check(
            "watcher",
            False,
            f"pid {pid} holds the watcher lock but has been {down}: it is stuck",
            f"stop pid {pid} and start 'talkroom --watch-only'",
        )
    return Check(
        "watcher", True, f"running (pid {pid}, {beat.mode}, last beat {beat.age():.0f} s ago)"
    )


def _other_host(root: Root, other: str) -> list[Check]:
    name = f"host {other}"
    checks = []
    try:
        sessions = len(registry.load_sessions(root, other))
    except StoreError as exc:
        checks.append(
            Check(
                name,
                False,
                str(exc),
                f"register the sessions on {other} again, or remove that file",
            )
        )
        sessions = 0
    beat = read_heartbeat(root, other)
    if beat is not None and not beat.stopped and not math.isfinite(beat.age()):
        beat = None  # no readable heartbeat time: as good as no file
    down = watcher_down(beat, time.time())
    if beat is None and heartbeat_path(root, other).exists():
        checks.append(
            Check(
                name,
                False,
                f"{heartbeat_path(root, other)} cannot be read",
                f"restart the watcher on {other}: it rewrites the file",
            )
        )
    elif beat is not None and down is None:
        checks.append(Check(name, True, f"watcher beat {beat.age():.0f} s ago"))
    elif sessions:
        checks.append(
            Check(
                name,
                False,
                f"watcher {down}, but {sessions} session(s) there wait for it",
                f"start 'talkroom --watch-only' on {other}",
            )
        )
    elif beat is not None:
        checks.append(Check(name, True, "watcher not running; no sessions registered there"))
    return checks
