"""Waiting until `next` names one agent: the watcher's change detector (filesystem events on
a local disk, polling on network mounts), started on the first wait and kept."""

from __future__ import annotations

import threading
import time

from talkroom.core.model import CLOSED, IN_PROGRESS
from talkroom.core.paths import Root
from talkroom.core.store import Snapshot
from talkroom.core.views import activity
from talkroom.watch.tracker import Tracker

MAX_WAIT = 3600.0


class Waiter:
    """Waits for this agent's turn; one wait at a time (others queue within their timeout)."""

    def __init__(self, root: Root, name: str, interval: float = 1.0) -> None:
        self.root = root
        self.name = name
        self.interval = interval  # between polls on a network mount; a full look's cadence
        self._tracker: Tracker | None = None
        self._busy = threading.Lock()  # held by the one thread that ticks the tracker
        self._closed = threading.Event()

    def wait(
        self, timeout: float, conv_id: str | None = None, cancel: threading.Event | None = None
    ) -> tuple[list[Snapshot], float]:
        """(the conversations whose `next` names this agent, oldest waiting first; the
        seconds waited). Empty when `timeout` passed, the wait was cancelled or the server is
        closing; with `conv_id`, also when that conversation is closed (it will not come)."""
        start = time.monotonic()
        deadline = start + timeout
        if self._closed.is_set() or not self._busy.acquire(timeout=max(timeout, 0.0)):
            return [], time.monotonic() - start
        try:
            tracker = self._started()
            tracker.tick()
            while True:
                mine = self._mine(tracker, conv_id)
                if mine or self._over(tracker, conv_id):
                    return mine, time.monotonic() - start
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed.is_set() or (cancel and cancel.is_set()):
                    return [], time.monotonic() - start
                tracker.wait(min(remaining, self.interval))
                if self._closed.is_set() or (cancel and cancel.is_set()):
                    return [], time.monotonic() - start
                tracker.tick()
        finally:
            self._busy.release()

    def wake(self) -> None:
        """Make a wait look again now (a cancelled call, the server closing)."""
        if self._tracker is not None:
            self._tracker.wake.set()

    def close(self) -> None:
        """End every wait and stop listening for changes."""
        self._closed.set()
        self.wake()
        # the tracker is not thread-safe: stop it only once no wait is ticking it
        got = self._busy.acquire(timeout=5.0)
        try:
            if self._tracker is not None:
                self._tracker.stop()
                self._tracker = None
        finally:
            if got:
                self._busy.release()

    def _started(self) -> Tracker:
        if self._tracker is None:
            tracker = Tracker(self.root)
            tracker.start()
            self._tracker = tracker
        return self._tracker

    def _mine(self, tracker: Tracker, conv_id: str | None) -> list[Snapshot]:
        snaps = [
            s
            for cid, s in tracker.snapshots.items()
            if s.conv is not None
            and s.readable
            and s.conv.status == IN_PROGRESS
            and self.name in s.conv.next
            and (conv_id is None or cid == conv_id)
        ]
        return sorted(snaps, key=lambda s: activity(s.conv) if s.conv else 0.0)

    @staticmethod
    def _over(tracker: Tracker, conv_id: str | None) -> bool:
        """True when the awaited conversation is closed: its turn will not come."""
        snap = tracker.snapshots.get(conv_id) if conv_id is not None else None
        return snap is not None and snap.conv is not None and snap.conv.status == CLOSED
