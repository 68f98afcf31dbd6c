"""`talkroom --watch-only`: the watcher without the console, one line per event."""

from __future__ import annotations

import json
import signal
import sys
import threading

from talkroom.core.config import Config
from talkroom.core.paths import Root
from talkroom.core.sanitise import sanitise_line
from talkroom.watch.watcher import Watcher, WatchEvent


def run(root: Root, host: str, config: Config, *, poll: bool, as_json: bool) -> int:
    """Run until SIGINT or SIGTERM; WatcherBusy propagates when another watcher runs."""
    out_lock = threading.Lock()

    def show(event: WatchEvent) -> None:
        line = (
            json.dumps(event.to_json())
            if as_json
            else f"{event.at} {event.kind}: {sanitise_line(event.text)}"
        )
        with out_lock:
            print(line, flush=True)

    watcher = Watcher.configured(
        root, host, config.settings, poll=True if poll else None, on_event=show
    )
    done = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        done.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        watcher.start()
        while not done.wait(0.5):
            if not watcher.running:
                print("talkroom: the watcher stopped unexpectedly", file=sys.stderr)
                return 3
    finally:
        watcher.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
