"""`hosts/<host>/watcher.yaml`: which hosts have a running watcher, and how recently it beat."""

from __future__ import annotations

import os
import time
from pathlib import Path

from talkroom.core import clock
from talkroom.core.errors import Unreadable
from talkroom.core.header import parse_header, render_header
from talkroom.core.lock import fsync_dir, replace
from talkroom.core.paths import Root
from talkroom.watch.registry import hosts

HEARTBEAT_FILE = "watcher.yaml"
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
    """Replace this host's watcher.yaml atomically (only this host's watcher writes it)."""
    path = heartbeat_path(root, host)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{HEARTBEAT_FILE}.{os.getpid()}.tmp")
    tmp.write_text(render_header(fields)[4:-4])  # the key: value lines, without the ---
    replace(tmp, path)
    fsync_dir(path.parent)


def read_heartbeat(root: Root, host: str) -> Heartbeat | None:
    """One host's heartbeat, or None when it has none (or it cannot be read)."""
    try:
        text = heartbeat_path(root, host).read_text(encoding="utf-8", errors="replace")
        return Heartbeat(host, parse_header(text))
    except (OSError, Unreadable):
        return None


def read_heartbeats(root: Root) -> list[Heartbeat]:
    """Every host's heartbeat, by host name."""
    return [hb for host in hosts(root) if (hb := read_heartbeat(root, host)) is not None]
