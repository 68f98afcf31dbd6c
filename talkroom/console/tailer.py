"""The console's producer: a thread that follows the talk root and posts what changed."""

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
from talkroom.core.paths import Root
from talkroom.core.receipts import ReceiptTail
from talkroom.watch import registry
from talkroom.watch.heartbeat import read_heartbeats
from talkroom.watch.tmux import pane_alive
from talkroom.watch.tracker import Tracker

HOSTS_EVERY = 2.0  # seconds between looks at heartbeats and sessions


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
        self.tracker = Tracker(root, poll=poll, rescan=rescan, journals=True)
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
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                updates, removed = self.tracker.tick()
                if updates or removed or first:
                    first = False
                    self.post(ConversationsChanged(updates, removed))
                receipts = self._receipts.poll()
                if receipts:
                    self.post(ReceiptsArrived(receipts))
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
            self.tracker.wait(self.interval)
        self.tracker.stop()

    def _problem(self, error: str) -> None:
        if error != self._error:
            self._error = error
            self.post(RootProblem(error))

    def _hosts(self) -> None:
        beats = read_heartbeats(self.root)
        sessions = [
            (s, pane_alive(s.pane) if s.host == self.host else None)
            for s in registry.all_sessions(self.root)
        ]
        broken = list(self.tracker.broken)
        signature = (
            [(b.host, tuple(sorted(b.fields.items()))) for b in beats],
            [(s.host, s.name, s.pane.pane_id, alive) for s, alive in sessions],
            broken,
        )
        if signature != self._last_hosts:
            self._last_hosts = signature
            self.post(HostsChanged(beats, sessions, broken))
