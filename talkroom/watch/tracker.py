"""Which conversations changed, read and verified: the one change detector behind the
watcher and the console's tailer. It is not a thread; its owner calls `tick` from its own."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from talkroom.core import clock, journal
from talkroom.core.model import IN_PROGRESS, Conversation
from talkroom.core.paths import Root
from talkroom.core.stale import BrokenLock
from talkroom.core.store import Reader, Snapshot
from talkroom.core.views import activity
from talkroom.watch.detect import EventSource, Poller, is_network

RECENT = 600.0  # conversations active this recently are re-read on every forced rescan


class Tracker:
    """Detects changes under `conversations/` and keeps the latest settled snapshots."""

    def __init__(
        self,
        root: Root,
        *,
        poll: bool | None = None,
        rescan: float = 30.0,
        wake: threading.Event | None = None,
        journals: bool = False,
        reader: Reader | None = None,
    ) -> None:
        self.root = root
        self.journals = journals  # look for committed turns that vanished (the console)
        self.rescan = rescan
        self._next_rescan = 0.0  # the first look is a full one
        self.mode = "polling" if poll or (poll is None and is_network(root.path)) else "events"
        self.wake = wake or threading.Event()
        self.snapshots: dict[str, Snapshot] = {}  # settled: readable or unreadable
        self.locks: set[Path] = set()  # lock files seen, for the stale sweep
        self.leftovers: set[Path] = set()  # what killed writers left, for the sweep
        self.broken: list[BrokenLock] = []  # locks broken as stale (renamed aside)
        self._reader = reader or Reader()  # the console's reads headers and latest blocks
        self._poller = Poller(root.conversations)
        self._events: EventSource | None = None
        self._unsettled: set[Path] = set()
        self._later: list[Path] = []  # changed, left for the next ticks by `limit`, in order

    def start(self) -> None:
        """Begin listening for events (events mode); the folder is created if missing."""
        self.root.conversations.mkdir(parents=True, exist_ok=True)
        if self.mode == "events":
            self._events = EventSource(self.root.conversations, self.wake)
            self._events.start()

    def stop(self) -> None:
        """Stop listening."""
        if self._events is not None:
            self._events.stop()
            self._events = None

    @property
    def conversations(self) -> dict[str, Conversation]:
        """The readable conversations by id."""
        return {
            cid: s.conv for cid, s in self.snapshots.items() if s.readable and s.conv is not None
        }

    def tick(
        self, forced: bool | None = None, limit: int | None = None
    ) -> tuple[list[Snapshot], list[str]]:
        """Look once: (snapshots that changed, ids removed). Raises OSError if the root is gone.

        Every `rescan` seconds (or when `forced`) the look is a full one: every file's stat,
        and recently active conversations re-read, since size and mtime can look unchanged
        on network mounts. With `limit`, at most that many files are read, the newest
        first; the others are read by the next ticks (`behind` until then).
        """
        now_mono = time.monotonic()
        if forced is None:
            forced = now_mono >= self._next_rescan
        if self._events is not None and self._events.overflowed:
            self._events.overflowed, forced = False, True
        if forced:
            self._next_rescan = now_mono + self.rescan
        changed: set[Path] = set(self._unsettled)
        removed_ids: list[str] = []
        if self.mode == "polling" or forced:
            found, removed = self._poller.scan(force=forced)
            changed |= found
            self.locks |= set(self._poller.locks)
            self.leftovers |= set(self._poller.leftovers)
            self.broken = self._poller.broken
            for path in removed:
                self._reader.forget(path)
                if self.snapshots.pop(path.stem, None) is not None:
                    removed_ids.append(path.stem)
        if self._events is not None:
            changed |= self._events.take()
        if forced:
            now = clock.now()
            changed |= {
                s.path
                for s in self.snapshots.values()
                if s.conv is not None
                and s.conv.status == IN_PROGRESS
                and now - activity(s.conv) < RECENT
            }
        updates: list[Snapshot] = []
        if limit is None:
            paths = sorted(changed | set(self._later))
            self._later = []
        else:  # the newest first; what was left before keeps its turn
            queue = sorted(changed, key=self._poller.mtime, reverse=True)
            queue += [p for p in self._later if p not in changed]
            paths, self._later = queue[:limit], queue[limit:]
        for path in paths:
            before = self.snapshots.get(path.stem)
            snap = self._reader.poll(path)
            if snap.missing:
                self._unsettled.discard(path)
                self._reader.forget(path)
                if self.snapshots.pop(path.stem, None) is not None:
                    removed_ids.append(path.stem)
                continue
            if snap.pending:
                self._unsettled.add(path)
                continue
            self._unsettled.discard(path)
            if before is not None and before.conv is snap.conv and before.error == snap.error:
                continue  # read again, nothing new
            if self.journals and snap.conv is not None:
                snap.conv.lost = journal.check(snap.conv)
            self.snapshots[path.stem] = snap
            updates.append(snap)
        return updates, removed_ids

    @property
    def behind(self) -> bool:
        """Changed files are left to read (a `limit` was reached)."""
        return bool(self._later)

    def wait(self, timeout: float) -> None:
        """Sleep until woken by an event (or a caller) or `timeout` passes."""
        self.wake.wait(timeout)
        self.wake.clear()
