"""`talkroom doctor`: what is wrong with this setup, one line each, with the fix."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from talkroom.core import journal
from talkroom.core.config import Config
from talkroom.core.errors import StoreError
from talkroom.core.paths import Root
from talkroom.core.sanitise import sanitise_line
from talkroom.core.stale import read_broken
from talkroom.core.store import Reader, conversation_files
from talkroom.health import Facts, session_problem, watcher_down
from talkroom.watch import registry
from talkroom.watch.detect import is_network, mount_of
from talkroom.watch.heartbeat import heartbeat_path, read_heartbeat
from talkroom.watch.hostlock import HostLock
from talkroom.watch.tmux import pane_alive

SKEW_LIMIT = 2.0  # seconds between our clock and the file server's before it matters


class Check:
    """One line of the report."""

    __slots__ = ("detail", "fix", "name", "ok")

    def __init__(self, name: str, ok: bool, detail: str, fix: str = "") -> None:
        # Details quote file names and files other hosts wrote: inert before printing.
        self.name = sanitise_line(name)
        self.ok = ok
        self.detail = sanitise_line(detail)
        self.fix = sanitise_line(fix)

    def line(self) -> str:
        """`✓ name: detail` or `✗ name: detail; fix: ...`."""
        text = f"{'✓' if self.ok else '✗'} {self.name}: {self.detail}"
        return text if self.ok or not self.fix else f"{text}; fix: {self.fix}"

    def to_json(self) -> dict[str, object]:
        """For `doctor --json`."""
        return {"check": self.name, "ok": self.ok, "detail": self.detail, "fix": self.fix}


def check_config(config: Config) -> list[Check]:
    """The config file and variables: readable, valid, and nothing unknown in them."""
    where = f"{config.path}" if config.path.exists() else f"{config.path} (none: defaults)"
    if config.errors:
        more = f" (and {len(config.errors) - 1} more)" if len(config.errors) > 1 else ""
        message, _, fix = config.errors[0].rpartition("; ")
        return [Check("config", False, f"{message}{more}; checked with the defaults instead", fix)]
    if config.warnings:
        return [
            Check(
                "config",
                False,
                f"{where}: {len(config.warnings)} unknown key(s)",
                config.warnings[0],
            )
        ]
    return [Check("config", True, where)]


def check_root(root: Root, config: Config) -> list[Check]:
    """The root: how it was found, that it is writable, its filesystem, the clock."""
    if root.path.exists() and not root.path.is_dir():
        return [
            Check(
                "root",
                False,
                f"{root.path} (found by {root.how}) is not a folder",
                "pass --root DIR with a folder (or a path that does not exist yet)",
            )
        ]
    if not root.path.is_dir():
        return [
            Check(
                "root",
                False,
                f"{root.path} (found by {root.how}) does not exist",
                "open a conversation there (it is created) or pass --root DIR",
            )
        ]
    for sub in (root.conversations, root.hosts):
        if sub.exists() and not sub.is_dir():
            return [
                Check(
                    "root",
                    False,
                    f"{sub} is a file, where talkroom keeps a folder",
                    "move that file away",
                )
            ]
    point, fstype, options = mount_of(root.path)
    network = is_network(root.path)
    how = (
        f"polled every {config.settings.poll_interval:g} s"
        if network
        else "changes arrive as filesystem events"
    )
    checks = []
    try:
        fd, probe = tempfile.mkstemp(prefix=".talkroom-doctor-", dir=root.path)
        os.close(fd)
        skew = os.stat(probe).st_mtime - time.time()
        os.unlink(probe)
    except OSError as exc:
        return [
            Check(
                "root",
                False,
                f"{root.path} (found by {root.how}) is not writable: {exc.strerror}",
                "fix its permissions or mount it read-write",
            )
        ]
    checks.append(
        Check(
            "root",
            True,
            f"{root.path} (found by {root.how}), writable, {fstype} on {point} ({options}); {how}",
        )
    )
    if abs(skew) > SKEW_LIMIT:
        checks.append(
            Check(
                "clock",
                False,
                f"the files' clock is {skew:+.0f} s from this machine's",
                "synchronise the clocks (NTP) on every machine",
            )
        )
    else:
        checks.append(Check("clock", True, f"within {SKEW_LIMIT:g} s of the files' clock"))
    return checks


def check_tmux() -> list[Check]:
    """tmux installed, and the server of this pane reachable when inside tmux."""
    tmux = shutil.which("tmux")
    if tmux is None:
        return [Check("tmux", False, "not installed", "apt-get install tmux (brew install tmux)")]
    version = subprocess.run(
        [tmux, "-V"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not os.environ.get("TMUX"):
        return [Check("tmux", True, f"{version}; this shell is not inside tmux")]
    reach = subprocess.run(
        [tmux, "display-message", "-p", "#{pid}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=5,
    )
    if reach.returncode:
        return [
            Check(
                "tmux", False, f"{version}; the server in $TMUX does not answer", "start tmux again"
            )
        ]
    return [Check("tmux", True, f"{version}; server pid {reach.stdout.strip()} answers")]


def check_sessions(root: Root, host: str) -> list[Check]:
    """This host's registrations: each pane alive and the one registered, and how each is
    woken (natively where the agent allows it, else typed), with what that needs."""
    try:
        sessions = registry.load_sessions(root, host)
    except StoreError as exc:
        return [Check("sessions", False, str(exc), "fix or remove that file")]
    if not sessions:
        return [Check("sessions", True, f"none registered on {host}")]
    facts = Facts(host, [(s, pane_alive(s.pane)) for s in sessions.values()], [], {}, [])
    checks = []
    for name, session in sorted(sessions.items()):
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


def check_files(root: Root, stale_after: float) -> list[Check]:
    """Locks left behind, locks broken as stale, unreadable files."""
    checks = []
    folder = root.conversations
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return [Check("conversations", True, "none yet")]
    now = time.time()
    stale = [
        n
        for n in names
        if n.startswith(".") and n.endswith(".md.lock") and now - _mtime(folder / n) > stale_after
    ]
    if stale:
        checks.append(
            Check(
                "locks",
                False,
                f"{len(stale)} lock(s) older than {stale_after:g} s: " + ", ".join(stale[:3]),
                "the next write to that conversation breaks it, as does a running watcher",
            )
        )
    else:
        checks.append(Check("locks", True, "no stale write lock"))
    broken = sorted(
        (b for n in names if ".lock.broken." in n if (b := read_broken(folder / n)) is not None),
        key=lambda b: b.broken_at,
    )
    if broken:
        last = broken[-1]
        checks.append(
            Check(
                "broken locks",
                True,
                f"{len(broken)} stale lock(s) were broken; "
                f"the latest, {now - last.broken_at:.0f} s ago in {last.conv_id}: "
                f"{last.describe()}; the files are kept for inspection",
            )
        )
    snaps = Reader().settle_all(conversation_files(folder))
    bad = [s for s in snaps if not s.readable and not s.missing]
    if bad:
        first = bad[0]
        checks.append(
            Check(
                "conversations",
                False,
                f"{len(bad)} of {len(snaps)} unreadable: {first.conv_id}: {first.error}",
                "fix or move those files (talkroom never rewrites them)",
            )
        )
    else:
        checks.append(Check("conversations", True, f"{len(snaps)} readable"))
    vanished = [
        (s.conv, e)
        for s in snaps
        if s.readable and s.conv is not None
        for e in journal.shown(journal.check(s.conv), now)
    ]
    if vanished:
        conv, entry = vanished[0]
        more = f" (and {len(vanished) - 1} more)" if len(vanished) > 1 else ""
        checks.append(
            Check(
                "turns",
                False,
                f"{conv.id}: {journal.describe(entry, conv.path or folder)}{more}",
                "read the text there and put it back (talkroom inject) if it still matters",
            )
        )
    else:
        checks.append(Check("turns", True, "no committed turn is missing from its file"))
    return checks


def _mtime(path: Path) -> float:
    try:
        return os.lstat(path).st_mtime
    except FileNotFoundError:  # released while we looked: not stale
        return time.time()


def run(root: Root, host: str, config: Config) -> list[Check]:
    """Every check, in the order a user should fix them."""
    checks = check_config(config) + check_root(root, config)
    checks += check_tmux()
    if root.path.is_dir() and all(
        p.is_dir() or not p.exists() for p in (root.conversations, root.hosts)
    ):
        checks += check_sessions(root, host) + check_watchers(root, host)
        checks += check_files(root, config.settings.stale_lock_seconds)
    return checks
