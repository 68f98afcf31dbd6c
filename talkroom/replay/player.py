"""Plays a timeline: a thread that posts one message per step at the chosen speed."""

from __future__ import annotations

import threading
from collections.abc import Callable

SPEEDS = ("real", "1/s", "fast")  # real time with long gaps compressed, 1 block/s, fast


class Player:
    """Posts `on_step(i)` for steps start+1.. until the end, a stop, or a pause."""

    def __init__(self, delays: Callable[[], list[float]], on_step: Callable[[int], None]) -> None:
        self._delays = delays
        self._on_step = on_step
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def playing(self) -> bool:
        """True while the thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def play(self, start: int) -> None:
        """Play from the step after `start` (restarting if it already plays)."""
        self.pause()
        self._stop = threading.Event()
        stop = self._stop
        self._thread = threading.Thread(
            target=self._run, args=(start, stop), name="talkroom-replay", daemon=True
        )
        self._thread.start()

    def pause(self) -> None:
        """Stop playing and join the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _run(self, start: int, stop: threading.Event) -> None:
        step = start + 1
        while not stop.is_set():
            delays = self._delays()  # the timeline may have grown meanwhile
            if step >= len(delays):
                return
            if stop.wait(delays[step]):
                return
            self._on_step(step)
            step += 1
