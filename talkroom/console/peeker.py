"""Pane peek's producer: a thread that looks at one local pane every second and posts it."""

from __future__ import annotations

import threading
from collections.abc import Callable

from textual.message import Message

from talkroom.console.messages import PaneSeen
from talkroom.watch import tmux
from talkroom.watch.profiles import Profile
from talkroom.watch.tmux import PaneRef

Target = tuple[str, PaneRef, Profile]


class Peeker:
    """Captures the pane the console points it at; started on mount, joined on unmount."""

    def __init__(self, post: Callable[[Message], object], every: float = 1.0) -> None:
        self.post = post
        self.every = every
        self._target: Target | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def point(self, target: Target | None) -> None:
        """Look at this pane from now on (None: at nothing)."""
        with self._lock:
            changed = target != self._target
            self._target = target
        if changed:
            self._wake.set()

    def start(self) -> None:
        """Start looking."""
        self._thread = threading.Thread(target=self._run, name="talkroom-peek", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and join."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                target = self._target
            if target is not None:
                name, ref, profile = target
                try:
                    text, state = tmux.peek(ref, profile)
                except tmux.TmuxError as exc:
                    text, state = None, str(exc)
                self.post(PaneSeen(name, text, state))
            self._wake.wait(self.every)
            self._wake.clear()
