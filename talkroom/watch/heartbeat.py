"""`hosts/<host>/watcher.yaml`: which hosts have a running watcher, and how recently it beat."""

from __future__ import annotations

import os
import time
from pathlib import Path

from talkroom.core import clock, machine
from talkroom.core.errors import Unreadable
from talkroom.core.files import Folder, read_capped
from talkroom.core.header import parse_header, render_header
from talkroom.core.lock import FileLock
from talkroom.core.machine import machine_id
from talkroom.core.paths import Root
from talkroom.watch.registry import hosts

HEARTBEAT_FILE = "watcher.yaml"
HEARTBEAT_CAP = 64 * 1024  # another host's watcher.yaml is never read past this
MAX_INTERVAL = 3600.0  # a longer interval read from a file is taken as this


class Heartbeat:
    """What a host's watcher.yaml says, and how old it looked to us when we read it."""

    __slots__ = ("fields", "host", "read_at")

    def __init__(self, host: str, fields: dict[str, str]) -> None:
        self.host = host
        self.fields = fields
        self.read_at = time.time()

    def __repr__(self) -> str:
        return f"Heartbeat({self.host}, pid {self.pid}, {self.mode}, age {self.age():.0f}s)"

    @property
    def pid(self) -> int | None:
        """The watcher's pid on its host."""
        value = self.fields.get("pid", "")
        return int(value) if value.isdigit() else None

    @property
    def mode(self) -> str:
        """events or polling."""
        return self.fields.get("mode", "?")

    @property
    def stopped(self) -> bool:
        """True when the watcher said it stopped."""
        return bool(self.fields.get("stopped at"))

    @property
    def interval(self) -> float:
        """Its heartbeat interval in seconds (what the file says, within the config's range:
        `inf` or a week would make a dead host look alive for ever)."""
        try:
            value = float(self.fields.get("heartbeat interval", "5"))
        except ValueError:
            return 5.0
        return min(value, MAX_INTERVAL) if value > 0 else 5.0  # NaN is not > 0

    def live_elsewhere(self) -> str | None:
        """Who else runs this host's watcher, if this heartbeat names a live one that is
        not this process: 'pid P on this machine', or a watcher on another machine that
        uses the same host name."""
        if self.stopped:
            return None
        here, theirs, pid = machine_id(), self.fields.get("machine", ""), self.pid
        if here and theirs == here:
            if pid is None or pid == os.getpid():
                return None
            alive = machine.alive(
                theirs, pid, self.fields.get("process start", "")
            ) and machine.runs_talkroom(pid)
            return f"pid {pid} on this machine" if alive else None
        if not self.alive():
            return None
        return (
            f"pid {pid} on another machine that also calls itself {self.host} (last "
            f"beat {self.age():.0f} s ago); give one of them another --host"
        )

    def age(self, now: float | None = None) -> float:
        """Seconds since the last beat by our clock (another host's clock may be skewed)."""
        beat = clock.parse_loose(self.fields.get("heartbeat", ""))
        if beat is None:
            return float("inf")
        return max(0.0, (time.time() if now is None else now) - beat)

    def alive(self, now: float | None = None) -> bool:
        """Running, with a beat within three intervals."""
        return not self.stopped and self.age(now) <= 3 * self.interval


def heartbeat_path(root: Root, host: str) -> Path:
    """`hosts/<host>/watcher.yaml`."""
    return root.host_dir(host) / HEARTBEAT_FILE


def write_heartbeat(root: Root, host: str, fields: dict[str, str]) -> None:
    """Replace this host's watcher.yaml atomically (only this host's watcher writes it),
    never through a link planted in the shared folder."""
    data = render_header(fields)[4:-4].encode()  # the key: value lines, without the ---
    with Folder(root.path, "hosts", host, create=True) as folder:
        folder.replace(HEARTBEAT_FILE, data)


def claim(root: Root, host: str, fields: dict[str, str]) -> None:
    """Write this watcher's first heartbeat, unless a live watcher for this host already
    beats there (WatcherBusy): under the write lock, so two starting at once (through two
    mounts of one root) cannot both win."""
    from talkroom.watch.hostlock import WatcherBusy

    with FileLock(heartbeat_path(root, host), host, depth=2, create_folders=True) as lock:
        current = read_heartbeat(root, host)
        other = current.live_elsewhere() if current is not None else None
        if other is not None:
            assert current is not None
            raise WatcherBusy(
                f"a watcher for host {host} and root {root.path} already runs "
                f"({other}); stop it first or use the console's watcher",
                current.pid,
            )
        lock.commit(render_header(fields)[4:-4].encode())


def read_heartbeat(root: Root, host: str) -> Heartbeat | None:
    """One host's heartbeat, or None when it has none (or it cannot be read: a FIFO, a
    link, a file over 64 KiB are never opened or read whole)."""
    try:
        data = read_capped(heartbeat_path(root, host), HEARTBEAT_CAP, what="watcher.yaml")
        return Heartbeat(host, parse_header(data.decode("utf-8", "replace")))
    except (OSError, Unreadable):
        return None


def read_heartbeats(root: Root) -> list[Heartbeat]:
    """Every host's heartbeat, by host name."""
    return [hb for host in hosts(root) if (hb := read_heartbeat(root, host)) is not None]
