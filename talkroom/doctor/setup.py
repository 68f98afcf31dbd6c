"""The doctor's checks of this machine: the config, the talk root, tmux, the files."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from talkroom.core import journal
from talkroom.core.config import Config
from talkroom.core.paths import Root
from talkroom.core.stale import read_broken
from talkroom.core.store import Reader, conversation_files
from talkroom.doctor.check import Check
from talkroom.watch.detect import is_network, mount_of

SKEW_LIMIT = 2.0  # seconds between our clock and the file server's before it matters


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


def check_tmux(panes: bool = True) -> list[Check]:
    """tmux installed, and the server of this pane reachable when inside tmux. Without
    `panes` (this host has only one-shot command sessions) tmux is not needed."""
    tmux = shutil.which("tmux")
    if tmux is None and not panes:
        return [Check("tmux", True, "not installed; not needed by this host's command sessions")]
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
