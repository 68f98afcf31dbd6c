"""The console's producer: a thread that follows the talk root and posts what changed.

It reads each conversation as a list needs it (`core.listing`: the header and the latest
blocks; the whole file is parsed only for what is shown), checks the journals of the
first look after the first post (they only add warnings), and merges what it sees into
its last message while the screen has not read it, so a burst never queues up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from textual.message import Message

from talkroom.console.messages import (
    ConversationsChanged,
    HostsChanged,
    ReceiptsArrived,
    RootProblem,
)
from talkroom.core import journal
from talkroom.core.listing import parse_listing
from talkroom.core.paths import Root
from talkroom.core.receipts import Receipt, ReceiptTail
from talkroom.core.store import Reader, Snapshot
from talkroom.watch import registry
from talkroom.watch.heartbeat import read_heartbeats
from talkroom.watch.tracker import Tracker

HOSTS_EVERY = 2.0  # seconds between looks at heartbeats and sessions
# The first look comes in chunks, the newest files first: the screen shows the newest
# conversations at once and the rest as they are read.
FIRST_CHUNK = 400
NEXT_CHUNKS = 2000
FIRST_PAINT = 2.0  # at most this long for the screen to take the first chunk in
CHUNK_PAUSE = 0.02  # between chunks: the screen draws the first one meanwhile


class Tailer:
    """Follows conversations, receipts, heartbeats and sessions; started on mount, joined on
    unmount."""

    def __init__(
        self,
        root: Root,
        host: str,
        post: Callable[[Message], object],
        *,
        poll: bool | None = None,
        interval: float = 1.0,
        rescan: float = 30.0,
    ) -> None:
        self.root = root
        self.host = host
        self.post = post
        self.interval = interval
        self.tracker = Tracker(root, poll=poll, rescan=rescan, reader=Reader(parse=parse_listing))
        self._unchecked: list[Snapshot] = []  # the first look's, their journals not read yet
        self._changes: ConversationsChanged | None = None  # the last posted, maybe unread
        self._arrived: ReceiptsArrived | None = None
        self._receipts = ReceiptTail(root)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: str | None = None
        self._last_hosts: object = None

    @property
    def mode(self) -> str:
        """events or polling."""
        return self.tracker.mode

    def start(self) -> None:
        """Start following."""
        self._thread = threading.Thread(target=self._run, name="talkroom-tailer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop and join."""
        self._stop.set()
        self.tracker.wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """Look now (the console just wrote)."""
        self.tracker.wake.set()

    def _run(self) -> None:
        try:
            self.tracker.start()
        except OSError as exc:
            self._problem(f"cannot watch {self.root.conversations}: {exc.strerror or exc}")
        next_hosts = 0.0
        first = True  # the first look is reported even when empty: the console starts then
        loading = True  # the first look, in chunks
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                chunk = (FIRST_CHUNK if first else NEXT_CHUNKS) if loading else None
                updates, removed = self.tracker.tick(limit=chunk)
                if loading:
                    self._unchecked += updates  # the list first; warnings a moment later
                else:
                    updates = self._check_journals(updates)
                if updates or removed or first:
                    self._post_changes(updates, removed, loading)
                if first and self.tracker.behind and self._changes is not None:
                    self._changes.read.wait(FIRST_PAINT)  # the newest on screen first
                first = False
                if loading and not self.tracker.behind:
                    loading = False
                    self.post(ConversationsChanged([], [], loaded=True))
                receipts = self._receipts.poll()
                if receipts:
                    self._post_receipts(receipts)
                if now >= next_hosts:
                    next_hosts = now + HOSTS_EVERY
                    self._hosts()
                if self._error is not None:
                    self._error = None
                    self.post(RootProblem(None))
            except OSError as exc:
                self._problem(f"cannot read the talk root {self.root.path}: {exc.strerror or exc}")
            except Exception as exc:  # the console must keep running; say what went wrong
                self._problem(f"{type(exc).__name__}: {exc}")
            self.tracker.wait(CHUNK_PAUSE if loading else self.interval)
        self.tracker.stop()

    def _check_journals(self, updates: list[Snapshot]) -> list[Snapshot]:
        """Committed blocks no longer in the file (a journal's first line says, unless
        something is wrong): for new snapshots, and once for the first look's, of which
        those with some are posted again."""
        for snap in updates:
            if snap.conv is not None:
                snap.conv.lost = journal.check(snap.conv)
        changed = {snap.conv_id for snap in updates}
        for snap in self._unchecked:
            current = self.tracker.snapshots.get(snap.conv_id) is snap
            if current and snap.conv is not None and snap.conv_id not in changed:
                snap.conv.lost = journal.check(snap.conv)
                if snap.conv.lost:
                    updates.append(snap)
        self._unchecked = []
        return updates

    def _post_changes(self, updates: list[Snapshot], removed: list[str], loading: bool) -> None:
        pending = self._changes
        if pending is None or not pending.merge(updates, removed, loading):
            self._changes = ConversationsChanged(updates, removed, loading=loading)
            self.post(self._changes)

    def _post_receipts(self, receipts: list[Receipt]) -> None:
        pending = self._arrived
        if pending is None or not pending.merge(receipts):
            self._arrived = ReceiptsArrived(receipts)
            self.post(self._arrived)

    def _problem(self, error: str) -> None:
        if error != self._error:
            self._error = error
            self.post(RootProblem(error))

    def _hosts(self) -> None:
        beats = read_heartbeats(self.root)
        sessions = [
            (s, registry.alive(s) if s.host == self.host else None)
            for s in registry.all_sessions(self.root)
        ]
        broken = list(self.tracker.broken)
        signature = (
            [(b.host, tuple(sorted(b.fields.items()))) for b in beats],
            [(s.host, s.name, s.where, alive) for s, alive in sessions],
            broken,
        )
        if signature != self._last_hosts:
            self._last_hosts = signature
            self.post(HostsChanged(beats, sessions, broken))
